"""The inspectors' history browser: one appeal's merged record, queries across appeals, exports."""

import csv
import io

import pytest
from django.urls import reverse
from django.utils import translation

from apps.audit.actions import ACTION_LABELS
from apps.audit.models import AuditEvent
from apps.casefile import timeline
from apps.casefile.sources import CODE_KEYS, HistorySource
from apps.organization.models import User
from tests.factories import make_appeal
from tests.supervision.conftest import at


def _trace_url(appeal):
    return reverse("admin:supervision_tracedappeal_change", args=[appeal.pk])


def test_who_changed_the_due_date_of_the_work_order_and_why(client, inspector, scripted):
    """Acceptance: answered from the browser, filtered to the field."""
    task, leader = scripted["task"], scripted["leader"]
    client.force_login(inspector)
    response = client.get(_trace_url(scripted["appeal"]), {"source": "task", "field": "resolve_due_at"})
    assert response.status_code == 200
    entries = response.context["entries"]
    due_changes = [e for e in entries if e.source == "task" and e.kind == "~"]
    assert len(due_changes) == 1
    entry = due_changes[0]
    assert entry.object_id == task.pk
    assert entry.actor_id == leader.pk
    with translation.override("zh-hans"):
        assert entry.actor_role == str(User.Role.DEPT_LEADER.label)  # the page speaks Chinese
    assert entry.at == at(3, 4, 11)
    assert "同意延期三个工作日" in entry.reason
    change = next(c for c in entry.changes if c.field == "resolve_due_at")
    assert (change.old, change.new) == (at(3, 9, 9, 30), at(3, 12, 9, 30))
    # The action log's entry for the same extension is on the page too.
    audit = [e for e in entries if e.source == "audit" and e.kind == "task.extended"]
    assert len(audit) == 1
    with translation.override("zh-hans"):
        # The log keeps the role at the time; the page names it and the action in Chinese.
        assert audit[0].actor_role == str(User.Role.DEPT_LEADER.label)
        assert audit[0].kind_label == str(ACTION_LABELS["task.extended"])
    page = response.content.decode()
    assert "同意延期三个工作日" in page and entry.ref in page


def test_the_merged_record_holds_every_related_object_in_time_order(inspector, scripted):
    entries = timeline.appeal_timeline(scripted["appeal"].pk)
    sources = {e.source for e in entries}
    assert {"appeal", "task", "approval", "audit"} <= sources
    assert [e.sort_key for e in entries] == sorted(e.sort_key for e in entries)
    # Field-level diffs from consecutive versions: the sign-for row changes the status.
    signed = next(e for e in entries if e.source == "task" and e.at == at(3, 3, 11, 30))
    status = next(c for c in signed.changes if c.field == "status")
    assert (status.old, status.new) == ("waiting to be signed for", "in progress")
    # The approval request's decision: who decided, when.
    decided = [e for e in entries if e.source == "approval" and any(c.field == "decided_by" for c in e.changes)]
    assert len(decided) == 1 and decided[0].actor_id == scripted["leader"].pk
    # Citizens' personal data is not in the record the inspectors export.
    assert not any(c.field in {"citizen_phone", "citizen_name"} for e in entries for c in e.changes)


def test_the_merged_record_costs_the_same_queries_for_a_short_and_a_long_history(
    scripted, org, dispatcher, django_assert_max_num_queries
):
    from apps.tasks import services as task_services

    long_appeal = scripted["appeal"]  # ~20 history rows and ~20 action-log entries
    short_appeal = make_appeal(operator=long_appeal.received_by, category=long_appeal.category, area=long_appeal.area)
    task_services.appeal_dispatch(actor=dispatcher, appeal=short_appeal, lead=org["market"], override_reason="测试")
    # One per source, plus previous versions and roles, plus one per kind of linked row named
    # (departments, areas, people, ...: a constant of the schema, not of the history's length).
    linked_kinds = {
        f.related_model for s in timeline.sources() if isinstance(s, HistorySource) for f in s._fields()
        if f.is_relation
    }
    budget = len(timeline.sources()) + 4 + len(linked_kinds) + len(set(CODE_KEYS.values()))
    with django_assert_max_num_queries(budget):
        short = timeline.appeal_timeline(short_appeal.pk)
    with django_assert_max_num_queries(budget):
        long = timeline.appeal_timeline(long_appeal.pk)
    assert 3 <= len(short) < 10 < len(long)
    assert {e.appeal_id for e in short if e.source == "appeal"} == {short_appeal.pk}


def test_query_by_person_over_a_period_pages_newest_first(client, inspector, scripted, dept_staff):
    client.force_login(inspector)
    url = reverse("admin:supervision_history_query")
    params = {"person": dept_staff.pk, "since": "2026-03-01", "until": "2026-03-31"}
    response = client.get(url, params)
    assert response.status_code == 200
    entries = response.context["entries"]
    assert entries and all(e.actor_id == dept_staff.pk for e in entries)
    assert [e.sort_key for e in entries] == sorted((e.sort_key for e in entries), reverse=True)
    # Keyset paging: pages of 3 cover the same entries as one page, without overlap.
    query = timeline.Query(person_id=dept_staff.pk, since=at(3, 1, 0), until=at(4, 1, 0))
    everything, _ = timeline.query_page(query, limit=500)
    seen, before = [], None
    while True:
        page, before = timeline.query_page(query, before=before, limit=3)
        seen.extend(e.ref for e in page)
        if before is None:
            break
    assert seen == [e.ref for e in everything]
    # Outside the period: nothing.
    empty, _ = timeline.query_page(timeline.Query(person_id=dept_staff.pk, since=at(4, 1, 0)), limit=50)
    assert empty == []


def test_query_by_department_and_action_kind(inspector, scripted, org, dept_staff):
    by_dept, _ = timeline.query_page(timeline.Query(department_id=org["housing"].pk), limit=500)
    assert by_dept and {e.actor_id for e in by_dept} <= {dept_staff.pk, scripted["leader"].pk}
    extended, _ = timeline.query_page(timeline.Query(action="task.extended"), limit=50)
    assert [e.kind for e in extended] == ["task.extended"]
    assert extended[0].actor_id == scripted["leader"].pk


def test_department_pages_cover_exactly_what_its_people_did(inspector, scripted, org, dept_staff):
    """On PostgreSQL the department query reads each person's index range (LATERAL); pages
    of 2 must give the same entries, in the same order, as the people's own queries."""
    query = timeline.Query(department_id=org["housing"].pk, since=at(3, 1, 0), until=at(4, 1, 0))
    seen, before = [], None
    while True:
        page, before = timeline.query_page(query, before=before, limit=2)
        seen.extend(page)
        if before is None:
            break
    expected = []
    for person in (dept_staff, scripted["leader"]):
        found, _ = timeline.query_page(timeline.Query(person_id=person.pk, since=at(3, 1, 0)), limit=500)
        expected.extend(found)
    expected.sort(key=lambda e: e.sort_key, reverse=True)
    assert [e.ref for e in seen] == [e.ref for e in expected]
    assert len(seen) > 10
    # The action kind narrows the department's entries.
    extended, _ = timeline.query_page(
        timeline.Query(department_id=org["housing"].pk, action="task.extended"), limit=50
    )
    assert [e.kind for e in extended] == ["task.extended"]


def test_query_pages_cost_a_constant_number_of_queries(inspector, scripted, dept_staff, django_assert_max_num_queries):
    query = timeline.Query(person_id=dept_staff.pk)
    with django_assert_max_num_queries(2 * len(timeline.sources()) + 2):
        small, _ = timeline.query_page(query, limit=3)
    with django_assert_max_num_queries(2 * len(timeline.sources()) + 2):
        large, _ = timeline.query_page(query, limit=20)
    assert len(small) == 3 and len(large) > 3


def test_exports_in_csv_and_excel_are_logged(client, inspector, scripted, dept_staff):
    client.force_login(inspector)
    url = reverse("admin:supervision_history_query")
    response = client.get(url, {"person": dept_staff.pk, "format": "csv"})
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert len(rows) > 2 and all(r[4] == (dept_staff.name or dept_staff.username) for r in rows[1:])
    response = client.get(url, {"person": dept_staff.pk, "format": "xlsx"})
    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    assert content[:2] == b"PK"  # a zip: the xlsx container
    assert AuditEvent.objects.filter(action="supervision.history_exported", actor=inspector).count() == 2


def test_exports_stop_at_the_row_limit(inspector, scripted, dept_staff):
    rows = list(timeline.query_iter(timeline.Query(), max_rows=5, chunk=2))
    assert len(rows) == 5


@pytest.mark.parametrize("name", ["dept_staff", "dept_leader", "dispatcher", "audit_admin", "city_leader"])
def test_other_roles_cannot_open_the_inspector_pages(client, users_by_role, scripted, name):
    client.force_login(users_by_role[name])
    for url in [
        reverse("admin:supervision_tracedappeal_changelist"),
        _trace_url(scripted["appeal"]),
        reverse("admin:supervision_history_query"),
        reverse("admin:supervision_history_query") + "?format=csv",
        reverse("admin:supervision_conduct"),
        reverse("admin:supervision_conduct_evidence", args=["sign_overdue"]),
    ]:
        assert client.get(url).status_code == 403, (name, url)


def test_an_unknown_appeal_is_not_found(client, inspector):
    client.force_login(inspector)
    assert client.get(reverse("admin:supervision_tracedappeal_change", args=[999999])).status_code == 404
    assert client.get("/admin/supervision/tracedappeal/abc/change/").status_code == 404


def test_the_record_names_the_role_a_person_held_when_they_acted(
    org, catalog, operator, dispatcher, security_admin, holidays_2026, time_machine
):
    from apps.organization import services as staff_services
    from apps.tasks import services as task_services
    from tests.factories import make_user

    time_machine.move_to(at(3, 1, 9), tick=False)
    staff = make_user(role="dept_staff", department=org["housing"], username="promoted_later")
    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    task = task_services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["housing"], override_reason="属地")
    time_machine.move_to(at(3, 2, 10), tick=False)
    task_services.task_sign(actor=staff, task=task)
    time_machine.move_to(at(3, 10, 9), tick=False)
    staff_services.staff_assign(
        actor=security_admin, user=staff, department=org["housing"], role="dept_leader", reason="任命为科长"
    )

    with translation.override("zh-hans"):
        entries = timeline.appeal_timeline(appeal.pk)
        signed = next(e for e in entries if e.source == "task" and e.actor_id == staff.pk)
        assert signed.actor_role == str(User.Role.DEPT_STAFF.label)  # not their role today
        assert str(User.Role.DEPT_LEADER.label) != signed.actor_role
