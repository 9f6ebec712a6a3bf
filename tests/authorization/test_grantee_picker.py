"""The delegation form picks its grantee by autocomplete (a city has 3,000+ leaders): the
picker finds active leaders only, for those who may grant a delegation, and lets nobody
else read the staff list through it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import make_user

AUTOCOMPLETE = "/admin/autocomplete/"
PICK = {"app_label": "authorization", "model_name": "delegation", "field_name": "grantee", "term": ""}


def _names(response):
    return {row["text"] for row in response.json()["results"]}


def test_the_add_form_has_no_select_of_all_leaders_but_a_picker(client, dept_leader):
    client.force_login(dept_leader)
    page = client.get(reverse("admin:authorization_delegation_add")).content.decode()
    assert 'data-model-name="user"' in page or "admin-autocomplete" in page
    assert page.count("<option") < 20  # kind and scope choices, not every leader


def test_the_picker_finds_active_leaders_only(client, org, dept_leader, city_leader, dept_staff, dispatcher):
    gone = make_user(role="dept_leader", department=org["market"])
    gone.is_active = False
    gone._change_reason = "left the service"
    gone.save()
    client.force_login(dept_leader)
    response = client.get(AUTOCOMPLETE, PICK)
    assert response.status_code == 200
    found = _names(response)
    assert str(city_leader) in found
    assert str(dept_staff) not in found and str(dispatcher) not in found
    assert str(gone) not in found


@pytest.mark.parametrize("who", ["dept_staff", "dispatcher", "operator", "visit_agent"])
def test_who_may_not_grant_cannot_search_staff_through_it(client, request, who, city_leader):
    client.force_login(request.getfixturevalue(who))
    response = client.get(AUTOCOMPLETE, PICK)
    assert response.status_code == 403
    # Nor through another field of the same model.
    assert client.get(AUTOCOMPLETE, {**PICK, "field_name": "grantor"}).status_code in {403, 404}


def test_a_leader_may_not_read_the_staff_list_itself(client, dept_leader):
    client.force_login(dept_leader)
    assert client.get(reverse("admin:organization_user_changelist")).status_code == 403
    other = {**PICK, "model_name": "task", "app_label": "tasks", "field_name": "signed_by"}
    assert client.get(AUTOCOMPLETE, other).status_code in {403, 404}
