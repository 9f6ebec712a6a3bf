"""Accountability records (问责): recorded by inspectors with evidence, seen by leaders in
scope, never edited after closing except by a new, linked record."""

import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.casefile import timeline
from apps.core.exceptions import DomainError, InvalidTransition, NotPermitted
from apps.supervision import services
from apps.supervision.models import AccountabilityRecord
from tests.factories import make_user


def _extension_ref(appeal):
    entry = next(e for e in timeline.appeal_timeline(appeal.pk) if e.source == "task"
                 and any(c.field == "resolve_due_at" for c in e.changes) and e.kind == "~")
    return entry.ref


@pytest.fixture
def finding(scripted, inspector, org, dept_staff):
    return services.accountability_record(
        actor=inspector, subject_department=org["housing"], subject_person=dept_staff,
        finding="超时签收、超时联系群众", decision="", sanction="education", reason="督查发现",
        appeals=[scripted["appeal"]], entry_refs=[_extension_ref(scripted["appeal"])],
    )


def test_an_inspector_records_a_finding_with_its_evidence(finding, scripted, inspector):
    assert finding.recorded_by == inspector and finding.status == "open"
    evidence = list(finding.evidence.all())
    assert [e.appeal for e in evidence if e.appeal] == [scripted["appeal"]]
    assert [e.entry_ref for e in evidence if e.entry_ref][0].startswith("task:")
    event = AuditEvent.objects.get(action="accountability.recorded")
    assert event.actor == inspector and event.changes["sanction"] == "education"
    assert finding.history.get().history_change_reason == "督查发现"


def test_a_finding_needs_evidence_an_inspector_and_a_matching_person(scripted, inspector, org, dept_staff,
                                                                     outsider, dept_leader):
    kwargs = {"subject_department": org["housing"], "finding": "x", "decision": "", "sanction": "none",
              "reason": "r"}
    with pytest.raises(DomainError):
        services.accountability_record(actor=inspector, subject_person=None, **kwargs)
    with pytest.raises(DomainError):
        services.accountability_record(actor=inspector, subject_person=None, entry_refs=["task:999999"], **kwargs)
    with pytest.raises(DomainError):  # the market bureau's staff is not the housing bureau's
        services.accountability_record(actor=inspector, subject_person=outsider, appeals=[scripted["appeal"]],
                                       **kwargs)
    with pytest.raises(NotPermitted):
        services.accountability_record(actor=dept_leader, subject_person=None, appeals=[scripted["appeal"]],
                                       **kwargs)
    assert not AccountabilityRecord.objects.exists()


def test_closed_records_are_amended_only_by_a_new_linked_record(finding, inspector, org):
    services.accountability_update(actor=inspector, record_=finding, finding=finding.finding,
                                   decision="责令书面检查", sanction="self_criticism", reason="核实后决定",
                                   subject_person=finding.subject_person)
    services.accountability_close(actor=inspector, record_=finding, reason="处理完毕")
    finding.refresh_from_db()
    assert finding.is_closed and finding.closed_by == inspector
    with pytest.raises(InvalidTransition):
        services.accountability_update(actor=inspector, record_=finding, finding="改写", decision="无",
                                       sanction="none", reason="想改")
    with pytest.raises(InvalidTransition):
        services.accountability_close(actor=inspector, record_=finding, reason="again")
    amended = services.accountability_record(
        actor=inspector, subject_department=org["housing"], subject_person=finding.subject_person,
        finding="复核：情节较轻", decision="改为批评教育", sanction="education", reason="复核", supersedes=finding,
    )
    assert amended.supersedes == finding and finding.superseded_by == amended
    with pytest.raises(InvalidTransition):  # amend the newest, not the old one twice
        services.accountability_record(
            actor=inspector, subject_department=org["housing"], subject_person=None, finding="再改",
            decision="", sanction="none", reason="r", supersedes=finding,
        )
    finding.refresh_from_db()
    assert finding.decision == "责令书面检查"  # the closed record is as it was
    assert [h.history_change_reason for h in finding.history.order_by("history_id")] == [
        "督查发现", "核实后决定", "处理完毕"
    ]


def test_leaders_see_records_of_their_scope_and_staff_none(client, finding, org, dept_leader, dept_staff,
                                                           city_leader):
    url = reverse("admin:supervision_accountabilityrecord_changelist")
    market_leader = make_user(role="dept_leader", department=org["market"])
    for user, expected in [(dept_leader, {finding.pk}), (city_leader, {finding.pk}), (market_leader, set())]:
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200
        assert {r.pk for r in response.context["cl"].result_list} == expected, user.role
    client.force_login(market_leader)
    change = reverse("admin:supervision_accountabilityrecord_change", args=[finding.pk])
    assert client.get(change).status_code == 404
    client.force_login(dept_staff)
    assert client.get(url).status_code == 403


def test_an_inspector_records_a_finding_through_the_admin(client, inspector, scripted, org, dept_staff):
    client.force_login(inspector)
    ref = _extension_ref(scripted["appeal"])
    response = client.post(reverse("admin:supervision_accountabilityrecord_add"), {
        "subject_department": org["housing"].pk, "subject_person": dept_staff.pk,
        "finding": "签收超时", "decision": "", "sanction": "none",
        "evidence_appeals": scripted["appeal"].tracking_number, "evidence_entries": ref,
        "change_reason": "专项督查",
        "evidence-TOTAL_FORMS": "0", "evidence-INITIAL_FORMS": "0",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    rec = AccountabilityRecord.objects.get()
    assert rec.recorded_by == inspector
    assert {e.entry_ref for e in rec.evidence.all()} == {"", ref}
    # Closed: the change page is read-only.
    services.accountability_update(actor=inspector, record_=rec, finding=rec.finding, decision="通报",
                                   sanction="public_criticism", reason="决定", subject_person=dept_staff)
    services.accountability_close(actor=inspector, record_=rec, reason="结案")
    change = reverse("admin:supervision_accountabilityrecord_change", args=[rec.pk])
    assert b'name="_save"' not in client.get(change).content
    response = client.post(change, {"finding": "篡改", "change_reason": "x", "sanction": "none"})
    assert response.status_code == 403
    rec.refresh_from_db()
    assert rec.finding == "签收超时"
