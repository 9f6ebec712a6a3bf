"""Who may record and see return visits: role × object matrix. A department can never
record or edit a visit on its own work order (not even an agent of that department)."""

import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.core.exceptions import NotFoundForActor, NotPermitted
from apps.followups import services
from apps.followups.models import Visit
from apps.followups.permissions import visible_visits
from tests.factories import make_user
from tests.followups.conftest import call

SEES = {"visit_agent", "inspector", "dispatcher"}


@pytest.mark.parametrize(
    "role",
    ["operator", "dispatcher", "dept_staff", "dept_leader", "city_leader", "inspector", "system_admin", "audit_admin"],
)
@pytest.mark.parametrize("department", ["market", "housing"])
def test_only_agents_record(accepted, org, role, department, clock):
    _appeal, _task, visit = accepted  # handled by the market bureau
    user = make_user(role=role, department=org[department])
    expected = NotPermitted if role in SEES else NotFoundForActor
    with pytest.raises(expected):
        services.visit_start_call(actor=user, visit=visit)
    with pytest.raises(expected):
        services.visit_record_outcome(
            actor=user, visit=visit, resolved=True, satisfaction="satisfied", citizen_words="满意"
        )
    with pytest.raises(expected):
        services.visit_record_unreached(actor=user, visit=visit, note="无人接听")
    assert visible_visits(user).exists() == (role in SEES)
    visit.refresh_from_db()
    assert visit.status == Visit.Status.SCHEDULED and visit.version == 1


def test_an_agent_of_the_handling_department_cannot_record(accepted, org, clock):
    _appeal, _task, visit = accepted
    tied_agent = make_user(role="visit_agent", department=org["market"])
    with pytest.raises(NotPermitted, match="another agent"):
        services.visit_start_call(actor=tied_agent, visit=visit)


def test_admin_pages_by_role(accepted, org, client, clock, visit_agent, inspector, market_staff):
    _appeal, _task, visit = accepted
    change = reverse("admin:followups_visit_change", args=[visit.pk])
    record = reverse("admin:followups_visit_record", args=[visit.pk])
    for user, page, status in [
        (market_staff, change, 404),  # the handling department: not even visible
        (market_staff, record, 404),
        (inspector, change, 200),
        (inspector, record, 403),  # inspectors read, never record
        (visit_agent, change, 200),
    ]:
        client.force_login(user)
        assert client.get(page).status_code == status, (user.role, page)
    client.force_login(market_staff)
    assert client.get(reverse("admin:followups_visit_changelist")).status_code == 403
    response = client.post(record, {"version": visit.version, "resolved": "yes", "satisfaction": "satisfied"})
    assert response.status_code == 404
    visit.refresh_from_db()
    assert visit.status == Visit.Status.SCHEDULED


def test_agent_records_through_the_workbench(accepted, client, clock, visit_agent):
    import datetime as dt

    appeal, _task, visit = accepted
    client.force_login(visit_agent)
    listing = client.get(reverse("admin:followups_visit_changelist"))
    assert listing.status_code == 200 and appeal.tracking_number in listing.content.decode()
    start = reverse("admin:followups_visit_start", args=[visit.pk])
    started = client.post(start, {"version": visit.version}, follow=True)
    assert started.status_code == 200
    # The agent gets the number to dial (lists show it masked), and the reveal is logged.
    assert appeal.citizen_phone in started.content.decode()
    assert AuditEvent.objects.filter(
        action="appeal.contact_revealed", actor=visit_agent, target_id=str(appeal.pk)
    ).exists()
    visit.refresh_from_db()
    clock.shift(dt.timedelta(minutes=4))
    record = reverse("admin:followups_visit_record", args=[visit.pk])
    # A stale version is refused on the form, nothing written.
    stale = client.post(
        record,
        {"version": visit.version - 1, "resolved": "yes", "satisfaction": "satisfied", "citizen_words": "很好"},
    )
    assert stale.status_code == 200 and "其他人修改了这条回访记录" in stale.content.decode()
    done = client.post(
        record,
        {"version": visit.version, "resolved": "yes", "satisfaction": "very_satisfied", "citizen_words": "很好，谢谢"},
    )
    assert done.status_code == 302
    visit.refresh_from_db()
    assert visit.status == Visit.Status.DONE and visit.satisfaction == "very_satisfied"
    _ = call  # helper kept for symmetry with the service tests


def test_workbench_queries_do_not_grow_with_rows(
    org, catalog, operator, dispatcher, market_staff, client, visit_agent, clock
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.tasks import services as task_services
    from tests.factories import make_appeal
    from tests.followups.conftest import reply_and_accept

    def add(n):
        for _ in range(n):
            appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
            task = task_services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["market"])
            reply_and_accept(task, staff=market_staff, dispatcher=dispatcher)

    client.force_login(visit_agent)
    url = reverse("admin:followups_visit_changelist")
    add(2)
    client.get(url)  # warm caches (session, content types)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    add(6)
    with CaptureQueriesContext(connection) as many:
        page = client.get(url)
    assert page.content.decode().count('class="field-tracking_number"') == 8
    assert len(many.captured_queries) == len(few.captured_queries)


def test_only_the_agent_in_the_call_gets_the_number(accepted, visit_agent, clock):
    from apps.core.exceptions import DomainError
    from tests.factories import make_user

    _appeal, _task, visit = accepted
    with pytest.raises(DomainError):
        services.visit_call_contact(actor=visit_agent, visit=visit)  # no call started
    visit = services.visit_start_call(actor=visit_agent, visit=visit)
    other = make_user(role="visit_agent", department=visit_agent.department)
    with pytest.raises(DomainError):
        services.visit_call_contact(actor=other, visit=visit)
    assert services.visit_call_contact(actor=visit_agent, visit=visit)["phone"] == visit.appeal.citizen_phone
