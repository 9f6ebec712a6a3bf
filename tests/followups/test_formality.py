"""Formality checks: crafted visits raise each flag with its evidence; ordinary visits
raise none; the sweep is idempotent and its query count does not grow with the visits."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.followups import services
from apps.followups.formality import chi_square, formality_sweep, uniform_agents
from apps.followups.models import Visit, VisitFlag
from apps.tasks import services as task_services
from tests.factories import make_appeal, make_department, make_user
from tests.followups.conftest import reply_and_accept

MIXED = ["very_satisfied"] * 3 + ["satisfied"] * 5 + ["basically_satisfied"] * 2 + ["unsatisfied", "very_unsatisfied"]


@pytest.fixture
def checks(settings, holidays_2026, clock):
    settings.FOLLOWUP_DIRECT_ANSWER_SAMPLE_RATE = 1.0
    settings.FOLLOWUP_RECHECK_SAMPLE_RATE = 0.0
    settings.FOLLOWUP_UNIFORM_MIN_SAMPLE = 10
    settings.FOLLOWUP_MIN_CALL_SECONDS = 60
    return clock


@pytest.fixture
def agents(org):
    return [make_user(role="visit_agent", department=org["centre"]) for _ in range(3)]


_counter = iter(range(10**6))


def direct_visit(org, catalog, operator):
    n = next(_counter)
    appeal = make_appeal(
        operator=operator, category=catalog["leaf"], area=org["street"], appeal_type="consultation", content=f"咨询{n}"
    )
    services.appeal_answer_and_sample(actor=operator, appeal=appeal, answer="依据政策答复")
    return appeal.visits.get()


def visit_done(visit, agent, clock, grade, words, *, seconds=300):
    visit = services.visit_start_call(actor=agent, visit=visit)
    clock.shift(dt.timedelta(seconds=seconds))
    unhappy = grade in {"unsatisfied", "very_unsatisfied"}
    return services.visit_record_outcome(
        actor=agent,
        visit=visit,
        resolved=not unhappy,
        satisfaction=grade,
        citizen_words=words,
        fault="outside" if unhappy else "",
        fault_note="政策限制" if unhappy else "",
    )


def ordinary_visits(org, catalog, operator, agents, clock, per_agent=12):
    for a, agent in enumerate(agents):
        for i, grade in enumerate(MIXED[:per_agent]):
            visit_done(direct_visit(org, catalog, operator), agent, clock, grade, f"第{a}组第{i}位市民的具体说法")


def test_no_flags_on_ordinary_visits(org, catalog, operator, agents, checks):
    ordinary_visits(org, catalog, operator, agents, checks)
    assert formality_sweep(actor=org["actor"]) == {"flags": 0, "rechecks": 0}
    assert not VisitFlag.objects.exists()


def test_each_check_fires_on_crafted_visits_with_evidence(
    org, catalog, operator, dispatcher, agents, checks, market_staff
):
    clock = checks
    uniform, normal, copier = agents
    # A uniform rater: twelve "very satisfied" against a varied centre.
    for i in range(12):
        visit_done(direct_visit(org, catalog, operator), uniform, clock, "very_satisfied", f"市民{i}说很好，具体到位")
    for agent in (normal, copier):
        for i, grade in enumerate(MIXED):
            visit_done(direct_visit(org, catalog, operator), agent, clock, grade, f"{agent.pk}的第{i}条原话")
    # The same words for three citizens.
    for _ in range(3):
        visit_done(direct_visit(org, catalog, operator), copier, clock, "satisfied", "问题已解决，非常感谢政府")
    # A "call" of ten seconds.
    fast = visit_done(
        direct_visit(org, catalog, operator), normal, clock, "satisfied", "很快说完了的一句话", seconds=10
    )
    # An agent working in a unit of the handling department.
    unit = make_department(code="MKTU1", parent=org["market"], area=org["city"])
    tied_agent = make_user(role="visit_agent", department=unit)
    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    task = task_services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["market"])
    reply_and_accept(task, staff=market_staff, dispatcher=dispatcher)
    tied = visit_done(appeal.visits.get(), tied_agent, clock, "satisfied", "自己单位的人来回访")

    result = formality_sweep(actor=org["actor"])
    flags = {(f.kind, f.visit_id): f for f in VisitFlag.objects.all()}
    kinds = {kind for kind, _ in flags}
    assert kinds == {"uniform", "repeated", "too_fast", "tied_agent"}
    assert result["flags"] == len(flags)

    uniform_flags = [f for f in flags.values() if f.kind == "uniform"]
    assert len(uniform_flags) == 12 and {f.agent_id for f in uniform_flags} == {uniform.pk}
    evidence = uniform_flags[0].evidence
    assert evidence["rated"] == 12 and evidence["modal_grade"] == "very_satisfied" and evidence["modal_share"] == 1.0
    assert evidence["chi_square"] > evidence["critical_p001"]

    repeated = [f for f in flags.values() if f.kind == "repeated"]
    assert len(repeated) == 3 and repeated[0].evidence == {"words": "问题已解决，非常感谢政府", "times": 3}
    assert flags[("too_fast", fast.pk)].evidence == {"call_seconds": 10.0, "minimum_seconds": 60}
    assert flags[("tied_agent", tied.pk)].evidence["handling_department"] == org["market"].name

    # Idempotent: a second run adds nothing.
    assert formality_sweep(actor=org["actor"])["flags"] == 0
    assert VisitFlag.objects.count() == len(flags)


def test_recheck_sample_by_a_second_agent(org, catalog, operator, agents, checks, settings):
    clock = checks
    first, second, _third = agents
    settings.FOLLOWUP_RECHECK_SAMPLE_RATE = 1.0
    agree = visit_done(direct_visit(org, catalog, operator), first, clock, "satisfied", "说法一，处理很及时")
    differ = visit_done(direct_visit(org, catalog, operator), first, clock, "very_satisfied", "说法二，处理很满意")
    assert formality_sweep(actor=org["actor"])["rechecks"] == 2
    assert formality_sweep(actor=org["actor"])["rechecks"] == 0  # once per visit
    re_agree, re_differ = (Visit.objects.get(recheck_of=v) for v in (agree, differ))
    assert re_agree.kind == Visit.Kind.RECHECK and re_agree.status == Visit.Status.SCHEDULED
    # The first agent may not re-visit their own visit.
    from apps.core.exceptions import NotPermitted

    with pytest.raises(NotPermitted, match="different agent"):
        services.visit_start_call(actor=first, visit=re_agree)
    settings.FOLLOWUP_RECHECK_SAMPLE_RATE = 0.0
    visit_done(re_agree, second, clock, "satisfied", "复核：确实解决了")
    re_differ = services.visit_start_call(actor=second, visit=re_differ)
    clock.shift(dt.timedelta(minutes=4))
    services.visit_record_outcome(
        actor=second, visit=re_differ, resolved=False, satisfaction="unsatisfied", citizen_words="其实没解决"
    )
    differ.appeal.refresh_from_db()
    assert differ.appeal.status == "closed"  # a re-visit changes no appeal
    formality_sweep(actor=org["actor"])
    flag = VisitFlag.objects.get(kind="recheck")
    assert flag.visit_id == differ.pk and flag.agent_id == first.pk
    assert flag.evidence["first"]["satisfaction"] == "very_satisfied"
    assert flag.evidence["re_visit"]["satisfaction"] == "unsatisfied"


def test_sweep_queries_do_not_grow_with_visits(org, catalog, operator, agents, checks):
    clock = checks
    ordinary_visits(org, catalog, operator, agents[:1], clock, per_agent=4)
    with CaptureQueriesContext(connection) as small:
        formality_sweep(actor=org["actor"])
    ordinary_visits(org, catalog, operator, agents[1:], clock, per_agent=12)
    with CaptureQueriesContext(connection) as large:
        formality_sweep(actor=org["actor"])
    assert len(large.captured_queries) == len(small.captured_queries)


def test_chi_square_against_known_values():
    # Observed 12/0/0/0/0 against shares 3/5/2/1/1 of 12: (9²/3) + 5 + 2 + 1 + 1 = 36.
    stat, df = chi_square(
        {"very_satisfied": 12},
        dict(
            zip(
                ["very_satisfied", "satisfied", "basically_satisfied", "unsatisfied", "very_unsatisfied"],
                [3, 5, 2, 1, 1],
                strict=True,
            )
        ),
    )
    assert round(stat, 6) == 36.0 and df == 4
    # Below the minimum sample nobody is tested.
    assert uniform_agents({1: {"satisfied": 9}, 2: {"satisfied": 5, "unsatisfied": 5}}, min_sample=10) == {}


def test_inspectors_see_flags_with_evidence_agents_do_not(org, catalog, operator, agents, checks, client, inspector):
    clock = checks
    visit_done(direct_visit(org, catalog, operator), agents[0], clock, "satisfied", "十秒钟就记完的回访", seconds=5)
    formality_sweep(actor=org["actor"])
    url = reverse("admin:followups_visitflag_changelist")
    client.force_login(inspector)
    page = client.get(url)
    assert page.status_code == 200 and "call_seconds" in page.content.decode()
    client.force_login(agents[1])
    assert client.get(url).status_code == 403


def test_direct_answers_are_sampled_reproducibly(org, catalog, operator, settings, holidays_2026, clock):
    picks = [services.is_sampled(f"20260310-{n:06d}", 0.10) for n in range(3000)]
    assert picks == [services.is_sampled(f"20260310-{n:06d}", 0.10) for n in range(3000)]
    assert 0.08 < sum(picks) / len(picks) < 0.12
    settings.FOLLOWUP_DIRECT_ANSWER_SAMPLE_RATE = 0.0
    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"], appeal_type="consultation")
    appeal = services.appeal_answer_and_sample(actor=operator, appeal=appeal, answer="按政策答复")
    assert appeal.status == "closed" and not appeal.visits.exists()
    settings.FOLLOWUP_DIRECT_ANSWER_SAMPLE_RATE = 1.0
    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"], appeal_type="consultation")
    appeal = services.appeal_answer_and_sample(actor=operator, appeal=appeal, answer="按政策答复")
    visit = appeal.visits.get()
    assert appeal.status == "answered" and visit.kind == Visit.Kind.DIRECT and visit.task is None
