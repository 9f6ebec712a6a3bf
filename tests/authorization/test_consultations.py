"""Consultations (会商): open with a deadline, opinions (late ones flagged), revisions kept in
the history, conclusion by the opener with its duration; who may; the pages."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils.translation import gettext as _

from apps.audit.models import AuditEvent
from apps.authorization import consultations
from apps.authorization.models import Consultation, ConsultationInvite
from apps.core.exceptions import DomainError, InvalidTransition, NotFoundForActor, NotPermitted
from apps.notifications.models import Notification
from tests.factories import make_appeal, make_user

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 6, 1, 9, 0, tzinfo=SHANGHAI)
DEADLINE = T0 + dt.timedelta(hours=4)


@pytest.fixture
def now(time_machine):
    time_machine.move_to(T0, tick=False)
    return T0


@pytest.fixture
def market_staff(org):
    return make_user(role="dept_staff", department=org["market"])


@pytest.fixture
def consultation(org, city_leader, now):
    return consultations.consultation_open(
        actor=city_leader,
        topic="老旧小区占道经营整治分工",
        question="请各部门就职责分工和整治时限提出意见。",
        deadline=DEADLINE,
        departments=[org["housing"], org["market"]],
    )


def _invite(consultation, department):
    return ConsultationInvite.objects.get(consultation=consultation, department=department)


def _at(time_machine, hours):
    time_machine.move_to(T0 + dt.timedelta(hours=hours), tick=False)


# --- Opening -----------------------------------------------------------------------------------


def test_a_leader_opens_a_consultation_and_the_invited_departments_are_told(
    org, city_leader, dept_staff, market_staff, now, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        consultation = consultations.consultation_open(
            actor=city_leader,
            topic="分工",
            question="请提出意见",
            deadline=DEADLINE,
            departments=[org["market"], org["housing"], org["housing"]],
        )
    assert consultation.status == Consultation.Status.OPEN and consultation.opened_at == T0
    assert [i.department for i in consultation.invites.order_by("department__path")] == [org["housing"], org["market"]]
    row = consultation.history.get()
    assert row.history_user == city_leader and row.history_change_reason == _("consultation opened")
    event = AuditEvent.objects.get(action="consultation.opened")
    assert event.actor == city_leader and event.changes["departments"] == ["HOUSING", "MARKET"]
    note = Notification.objects.get(recipient=dept_staff)
    assert "分工" in note.title and note.link.endswith(f"/{_invite(consultation, org['housing']).pk}/change/")
    assert Notification.objects.filter(recipient=market_staff).count() == 1


def test_opening_needs_a_future_deadline_a_department_and_a_leader(
    org, catalog, operator, city_leader, dept_leader, dept_staff, dispatcher, now
):
    def open_(actor, **kwargs):
        args = {"topic": "分工", "question": "请提出意见", "deadline": DEADLINE, "departments": [org["market"]]}
        return consultations.consultation_open(actor=actor, **{**args, **kwargs})

    with pytest.raises(DomainError):
        open_(city_leader, deadline=T0)
    with pytest.raises(DomainError):
        open_(city_leader, departments=[])
    with pytest.raises(DomainError):
        open_(city_leader, question=" ")
    for actor in (dept_staff, dispatcher, operator):
        with pytest.raises(NotPermitted):
            open_(actor)
    # A department leader may consult other departments, on an appeal their department handles only.
    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    with pytest.raises(NotFoundForActor):
        open_(dept_leader, appeal=appeal)
    assert not Consultation.objects.exists()
    assert open_(dept_leader).opened_by == dept_leader


# --- Acceptance: "consultation deadline and late flag" ----------------------------------------


def test_opinions_after_the_deadline_are_accepted_and_flagged_late(
    org, consultation, dept_staff, market_staff, time_machine
):
    housing, market = _invite(consultation, org["housing"]), _invite(consultation, org["market"])
    _at(time_machine, 1)
    housing = consultations.consultation_give_opinion(actor=dept_staff, invite=housing, opinion="住建局负责小区内部")
    assert housing.opinion_at == T0 + dt.timedelta(hours=1) and not housing.is_late
    assert not market.is_late  # no opinion yet, deadline not reached

    _at(time_machine, 5)  # past the deadline
    market.refresh_from_db()
    assert market.is_late  # missing and overdue
    market = consultations.consultation_give_opinion(actor=market_staff, invite=market, opinion="市场监管负责证照核查")
    assert market.opinion_at == T0 + dt.timedelta(hours=5) and market.is_late
    events = AuditEvent.objects.filter(action="consultation.opinion_given").order_by("seq")
    assert [(e.actor, e.changes["department"], e.changes["late"]) for e in events] == [
        (dept_staff, "HOUSING", False),
        (market_staff, "MARKET", True),
    ]


def test_an_opinion_may_be_revised_until_the_conclusion_and_the_history_keeps_each_version(
    org, consultation, city_leader, dept_staff, dept_leader, time_machine
):
    invite = _invite(consultation, org["housing"])
    _at(time_machine, 1)
    consultations.consultation_give_opinion(actor=dept_staff, invite=invite, opinion="初步意见")
    _at(time_machine, 2)
    invite = consultations.consultation_give_opinion(actor=dept_leader, invite=invite, opinion="经局务会研究的意见")
    assert (invite.opinion, invite.opinion_by, invite.opinion_at) == (
        "经局务会研究的意见",
        dept_leader,
        T0 + dt.timedelta(hours=2),
    )
    rows = list(invite.history.order_by("history_date", "history_id"))
    assert [(r.history_user, r.history_change_reason, r.opinion) for r in rows] == [
        (city_leader, _("department invited"), ""),
        (dept_staff, _("opinion given"), "初步意见"),
        (dept_leader, _("opinion revised"), "经局务会研究的意见"),
    ]
    assert AuditEvent.objects.filter(action="consultation.opinion_revised", actor=dept_leader).count() == 1
    _at(time_machine, 3)
    consultations.consultation_conclude(actor=city_leader, consultation=consultation, decision="住建局牵头")
    with pytest.raises(InvalidTransition):
        consultations.consultation_give_opinion(actor=dept_staff, invite=invite, opinion="再改")
    invite.refresh_from_db()
    assert invite.opinion == "经局务会研究的意见"


def test_the_opener_concludes_with_the_duration_and_missing_opinions_stay_visible(
    org, consultation, city_leader, dept_staff, time_machine, django_capture_on_commit_callbacks
):
    consultations.consultation_give_opinion(
        actor=dept_staff, invite=_invite(consultation, org["housing"]), opinion="同意牵头"
    )
    _at(time_machine, 6)
    with pytest.raises(DomainError):
        consultations.consultation_conclude(actor=city_leader, consultation=consultation, decision=" ")
    with django_capture_on_commit_callbacks(execute=True):
        consultation = consultations.consultation_conclude(
            actor=city_leader, consultation=consultation, decision="由住建局牵头，市场监管局配合，两周内完成"
        )
    assert consultation.status == Consultation.Status.CONCLUDED
    assert consultation.concluded_at == T0 + dt.timedelta(hours=6)
    assert consultation.duration == dt.timedelta(hours=6)
    assert [i.department for i in consultations.invite_list_missing(consultation=consultation)] == [org["market"]]
    event = AuditEvent.objects.get(action="consultation.concluded")
    assert event.actor == city_leader and event.reason == "由住建局牵头，市场监管局配合，两周内完成"
    assert event.changes["duration_seconds"] == 6 * 3600
    assert event.changes["missing"] == ["MARKET"] and event.changes["late"] == []
    row = consultation.history.order_by("history_date", "history_id").last()
    assert row.history_user == city_leader and row.status == "concluded"
    assert Notification.objects.filter(recipient=dept_staff, body="由住建局牵头，市场监管局配合，两周内完成").exists()
    with pytest.raises(InvalidTransition):
        consultations.consultation_conclude(actor=city_leader, consultation=consultation, decision="再次")


def test_only_invited_departments_give_opinions_and_only_the_opener_concludes(
    org, consultation, city_leader, dept_staff, dept_leader, inspector, operator, time_machine
):
    invite = _invite(consultation, org["housing"])
    stranger = make_user(role="dept_staff", department=org["district_gov"])
    for actor in (stranger, operator):
        with pytest.raises(NotFoundForActor):
            consultations.consultation_give_opinion(actor=actor, invite=invite, opinion="x")
    for actor in (city_leader, inspector):
        with pytest.raises(NotPermitted):
            consultations.consultation_give_opinion(actor=actor, invite=invite, opinion="x")
    invite.refresh_from_db()
    assert invite.opinion_at is None

    other_city_leader = make_user(role="city_leader", department=org["gov"])
    for actor in (other_city_leader, inspector, dept_leader):  # they can see it, but did not open it
        with pytest.raises(NotPermitted):
            consultations.consultation_conclude(actor=actor, consultation=consultation, decision="x")
    with pytest.raises(NotFoundForActor):
        consultations.consultation_conclude(actor=stranger, consultation=consultation, decision="x")
    consultation.refresh_from_db()
    assert consultation.status == Consultation.Status.OPEN


# --- Admin pages -----------------------------------------------------------------------------


def test_consultation_pages_by_role(
    client, org, consultation, city_leader, dept_staff, market_staff, inspector, operator
):
    stranger = make_user(role="dept_staff", department=org["district_gov"])
    housing, market = _invite(consultation, org["housing"]), _invite(consultation, org["market"])
    consultations.consultation_give_opinion(actor=market_staff, invite=market, opinion="市场监管局的意见")
    invites = reverse("admin:authorization_consultationinvite_changelist")

    client.force_login(dept_staff)
    assert [i.pk for i in client.get(invites).context["cl"].result_list] == [housing.pk]
    page = client.get(reverse("admin:authorization_consultation_change", args=[consultation.pk]))
    assert page.status_code == 200
    assert "市场监管局的意见" not in page.content.decode()  # another department's opinion stays theirs
    for url in [
        reverse("admin:authorization_consultationinvite_change", args=[market.pk]),
        reverse("admin:authorization_consultationinvite_history", args=[market.pk]),
        reverse("admin:authorization_consultationinvite_give_opinion", args=[market.pk]),
    ]:
        assert client.get(url).status_code == 404, url

    client.force_login(stranger)
    assert list(client.get(invites).context["cl"].result_list) == []
    assert client.get(reverse("admin:authorization_consultation_change", args=[consultation.pk])).status_code == 404
    assert client.get(reverse("admin:authorization_consultation_conclude", args=[consultation.pk])).status_code == 404

    for reader in (city_leader, inspector):
        client.force_login(reader)
        page = client.get(reverse("admin:authorization_consultation_change", args=[consultation.pk]))
        assert page.status_code == 200 and "市场监管局的意见" in page.content.decode()
        assert client.get(reverse("admin:authorization_consultationinvite_change", args=[market.pk])).status_code == 200
    client.force_login(inspector)
    assert (
        client.post(
            reverse("admin:authorization_consultation_conclude", args=[consultation.pk]),
            {"version": 0, "decision": "x"},
        ).status_code
        == 403
    )
    client.force_login(operator)
    assert client.get(reverse("admin:authorization_consultation_changelist")).status_code == 403
    consultation.refresh_from_db()
    assert consultation.status == Consultation.Status.OPEN


def test_a_consultation_runs_through_the_admin(client, org, city_leader, dept_staff, now, time_machine):
    client.force_login(city_leader)
    add = reverse("admin:authorization_consultation_add")
    assert client.get(add).status_code == 200
    response = client.post(
        add,
        {
            "appeal": "",
            "topic": "供水管网改造分工",
            "question": "请提出意见",
            "deadline_0": "2026-06-01",
            "deadline_1": "13:00:00",
            "departments": [org["housing"].pk],
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    consultation = Consultation.objects.get()
    assert consultation.deadline == DEADLINE and consultation.opened_by == city_leader
    invite = consultation.invites.get()

    client.force_login(dept_staff)
    url = reverse("admin:authorization_consultationinvite_give_opinion", args=[invite.pk])
    page = client.get(reverse("admin:authorization_consultationinvite_change", args=[invite.pk]))
    assert url in page.content.decode()
    _at(time_machine, 5)
    client.force_login(dept_staff)  # sessions time out: log in again after travelling
    assert client.post(url, {"version": 0, "opinion": ""}).status_code == 200  # required
    assert client.post(url, {"version": 0, "opinion": "同意改造方案"}).status_code == 302
    invite.refresh_from_db()
    assert invite.opinion == "同意改造方案" and invite.is_late
    page = client.get(reverse("admin:authorization_consultationinvite_changelist"))
    assert 'class="late-flag"' in page.content.decode()  # the late flag

    client.force_login(city_leader)
    conclude = reverse("admin:authorization_consultation_conclude", args=[consultation.pk])
    assert client.post(conclude, {"version": 0, "decision": "按住建局方案实施"}).status_code == 302
    consultation.refresh_from_db()
    assert consultation.status == Consultation.Status.CONCLUDED and consultation.duration == dt.timedelta(hours=5)
    listed = client.get(reverse("admin:authorization_consultation_changelist"), {"state": "done"})
    assert [c.pk for c in listed.context["cl"].result_list] == [consultation.pk]
    # Concluded: no more opinions, through the page either.
    client.force_login(dept_staff)
    assert client.post(url, {"version": 0, "opinion": "补充"}).status_code == 403


READERS = {
    "authorization_consultation": {"dispatcher", "dept_staff", "dept_leader", "city_leader", "inspector"},
    "authorization_consultationinvite": {"dept_staff", "dept_leader", "city_leader", "inspector"},
}


@pytest.mark.parametrize("name", sorted(READERS))
def test_consultation_changelists_by_role(client, users_by_role, name):
    url = reverse(f"admin:{name}_changelist")
    for role, user in users_by_role.items():
        client.force_login(user)
        expected = 200 if role in READERS[name] else 403
        assert client.get(url, {"q": "分工"}).status_code == expected, role
        add = client.get(reverse(f"admin:{name}_add")).status_code
        # City leaders and department leaders open consultations.
        openers = {("city_leader", "authorization_consultation"), ("dept_leader", "authorization_consultation")}
        assert add == (200 if (role, name) in openers else 403), role
