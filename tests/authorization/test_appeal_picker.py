"""The appeal picker (autocomplete) of the instruction (批示) and consultation (会商) add
forms answers those who may open the forms (roles.ROLE_PERMISSIONS: add_instruction and
add_consultation are held by department leaders and city leaders), with the appeals they
may see; everyone else gets 403."""

from __future__ import annotations

import pytest
from django.urls import reverse
from guardian.shortcuts import assign_perm

from apps.tasks import services as task_services
from tests.factories import make_appeal, make_user

PICKERS = {
    "instruction": "admin:authorization_instruction_appeal_picker",
    "consultation": "admin:authorization_consultation_appeal_picker",
}


@pytest.fixture
def appeals(org, catalog, operator, dispatcher, holidays_2026):
    """Housing's own, co-handled, shared and foreign work orders; one not dispatched; a P0."""

    def appeal(content, **kwargs):
        return make_appeal(operator=operator, category=catalog["leaf"], area=org["street"], content=content, **kwargs)

    def dispatch(appeal, lead, co=()):
        return task_services.appeal_dispatch(
            actor=dispatcher, appeal=appeal, lead=lead, co=list(co), override_reason="测试派单"
        )

    own, co_handled, shared, foreign, undispatched = (
        appeal("小区门口占道经营"),
        appeal("占道经营协办"),
        appeal("占道经营共享"),
        appeal("占道经营他局"),
        appeal("占道经营待派"),
    )
    dispatch(own, org["housing"])
    dispatch(co_handled, org["market"], co=[org["housing"]])
    # Shared with housing without a work order of its own (a guardian grant to its group).
    assign_perm("tasks.view_task", org["housing"].group, dispatch(shared, org["market"]))
    dispatch(foreign, org["market"])
    emergency = appeal("燃气泄漏", priority="P0")  # escalated at intake
    return {
        "own": own,
        "co_handled": co_handled,
        "shared": shared,
        "foreign": foreign,
        "undispatched": undispatched,
        "emergency": emergency,
    }


def _pick(client, form, term=""):
    return client.get(reverse(PICKERS[form]), {"term": term})


def _numbers(response) -> set[str]:
    return {row["text"] for row in response.json()["results"]}


def _all(appeals) -> set[str]:
    return {a.tracking_number for a in appeals.values()}


@pytest.mark.parametrize("form", sorted(PICKERS))
def test_a_department_leader_picks_the_appeals_of_their_departments_work_orders_only(
    client, appeals, dept_leader, form
):
    client.force_login(dept_leader)  # housing
    response = _pick(client, form)
    assert response.status_code == 200
    in_scope = {appeals[k].tracking_number for k in ("own", "co_handled", "shared")}
    assert _numbers(response) == in_scope
    assert not _numbers(response) & (_all(appeals) - in_scope)


@pytest.mark.parametrize("form", sorted(PICKERS))
def test_a_city_leader_picks_escalated_and_p0_appeals_only(client, appeals, city_leader, form):
    client.force_login(city_leader)
    response = _pick(client, form)
    assert response.status_code == 200
    assert _numbers(response) == {appeals["emergency"].tracking_number}


@pytest.mark.parametrize("form", sorted(PICKERS))
def test_the_picker_searches_within_the_scope(client, appeals, dept_leader, form):
    client.force_login(dept_leader)
    own, foreign = appeals["own"], appeals["foreign"]
    assert _numbers(_pick(client, form, own.tracking_number)) == {own.tracking_number}
    assert _numbers(_pick(client, form, foreign.tracking_number)) == set()
    assert _numbers(_pick(client, form, "他局")) == set()  # words of an appeal out of scope
    # Departments see phones masked: a citizen's number finds nothing.
    assert _numbers(_pick(client, form, own.citizen_phone)) == set()


@pytest.mark.parametrize("form", sorted(PICKERS))
def test_roles_that_may_not_open_the_form_get_403(client, appeals, users_by_role, form):
    for role, user in users_by_role.items():
        if role in {"dept_leader", "city_leader"}:
            continue
        client.force_login(user)
        assert _pick(client, form).status_code == 403, role


def test_the_department_leader_of_another_bureau_sees_only_its_appeals(client, org, appeals):
    market_leader = make_user(role="dept_leader", department=org["market"])
    client.force_login(market_leader)
    assert _numbers(_pick(client, "instruction")) == {
        appeals[k].tracking_number for k in ("co_handled", "shared", "foreign")
    }


@pytest.mark.parametrize("form", sorted(PICKERS))
def test_the_add_form_asks_its_own_picker(client, appeals, dept_leader, form):
    client.force_login(dept_leader)
    page = client.get(reverse(f"admin:authorization_{form}_add"), {"appeal": appeals["own"].pk})
    assert page.status_code == 200
    body = page.content.decode()
    assert f'data-ajax--url="{reverse(PICKERS[form])}"' in body
    assert appeals["own"].tracking_number in body  # the pre-filled appeal is shown
