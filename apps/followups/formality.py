"""Formality checks (防止回访流于形式): flags on visits that look made up, and the re-visit
sample. Run by the hourly sweep over a window of recent visits; every check is one
aggregate query (plus one to list the visits it names), so the cost does not grow with the
number of visits per agent, and reruns add nothing (one flag per visit and check).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Length, Mod
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.services import record
from apps.followups.models import GRADE_ORDER, Visit, VisitAttempt, VisitFlag

# Chi-square critical values at p = 0.001 by degrees of freedom (five grades: at most 4).
CHI2_CRITICAL_001 = {1: 10.83, 2: 13.82, 3: 16.27, 4: 18.47}
# "Uniform" means most ratings share one grade; a different but varied distribution is not
# a formality sign (it may be a hard district), so both must hold.
UNIFORM_MODAL_SHARE = 0.9


def chi_square(observed: dict[str, int], reference: dict[str, int]) -> tuple[float, int] | None:
    """Goodness of fit of `observed` counts against the shares of `reference`.
    Returns (statistic, degrees of freedom), or None when there is nothing to compare."""
    n, total = sum(observed.values()), sum(reference.values())
    if n == 0 or total == 0:
        return None
    stat, cells = 0.0, 0
    for grade in GRADE_ORDER:
        share = reference.get(grade, 0) / total
        if share == 0:
            continue  # a grade the centre never gives cannot be expected of anyone
        expected = n * share
        stat += (observed.get(grade, 0) - expected) ** 2 / expected
        cells += 1
    if cells < 2:
        return None
    return stat, cells - 1


def uniform_agents(counts: dict[int, dict[str, int]], *, min_sample: int) -> dict[int, dict]:
    """Agents whose grades are implausibly uniform against the rest of the centre:
    chi-square beyond p = 0.001 and one grade for at least 90 % of their visits."""
    centre: dict[str, int] = defaultdict(int)
    for per_grade in counts.values():
        for grade, n in per_grade.items():
            centre[grade] += n
    flagged = {}
    for agent_id, own in counts.items():
        n = sum(own.values())
        if n < min_sample:
            continue
        rest = {g: centre[g] - own.get(g, 0) for g in GRADE_ORDER}
        if sum(rest.values()) < min_sample:
            continue  # no one to compare with
        result = chi_square(own, rest)
        if result is None:
            continue
        stat, df = result
        modal_grade = max(own, key=own.get)
        modal_share = own[modal_grade] / n
        if stat > CHI2_CRITICAL_001[df] and modal_share >= UNIFORM_MODAL_SHARE:
            rest_total = sum(rest.values())
            flagged[agent_id] = {
                "rated": n,
                "counts": {g: own.get(g, 0) for g in GRADE_ORDER},
                "centre_shares": {g: round(rest[g] / rest_total, 3) for g in GRADE_ORDER},
                "chi_square": round(stat, 2),
                "df": df,
                "critical_p001": CHI2_CRITICAL_001[df],
                "modal_grade": modal_grade,
                "modal_share": round(modal_share, 3),
            }
    return flagged


def formality_sweep(*, actor, now=None) -> dict:
    """Compute every check over the window and write the new flags; schedule re-visits."""
    from apps.followups.services import visit_schedule_recheck

    now = now or timezone.now()
    since = now - timedelta(days=settings.FOLLOWUP_CHECK_WINDOW_DAYS)
    done = Visit.objects.filter(status=Visit.Status.DONE, completed_at__gte=since, completed_at__lte=now)
    flags: list[VisitFlag] = []

    def flag(visit_id, kind, agent_id, evidence):
        flags.append(VisitFlag(visit_id=visit_id, kind=kind, agent_id=agent_id, evidence=evidence, detected_at=now))

    # 1. Reached calls recorded implausibly fast after the agent started them.
    min_call = timedelta(seconds=settings.FOLLOWUP_MIN_CALL_SECONDS)
    fast = VisitAttempt.objects.filter(
        reached=True, visit__in=done, recorded_at__lt=F("started_at") + min_call
    ).values_list("visit_id", "agent_id", "started_at", "recorded_at")
    for visit_id, agent_id, started, recorded in fast:
        flag(
            visit_id,
            VisitFlag.Kind.TOO_FAST,
            agent_id,
            {
                "call_seconds": round((recorded - started).total_seconds(), 1),
                "minimum_seconds": settings.FOLLOWUP_MIN_CALL_SECONDS,
            },
        )

    # 2. The agent belongs to the handling department or one of its units.
    tied = done.filter(department__isnull=False).filter(
        Q(completed_by__department_id=F("department_id"))
        | Q(completed_by__department__path__startswith=F("department__path"))
    )
    for visit_id, agent_id, dept_name, agent_dept in tied.values_list(
        "id", "completed_by_id", "department__name", "completed_by__department__name"
    ):
        flag(
            visit_id,
            VisitFlag.Kind.TIED_AGENT,
            agent_id,
            {"handling_department": dept_name, "agent_department": agent_dept},
        )

    # 3. Ratings implausibly uniform against the rest of the centre (chi-square).
    rated = done.exclude(kind=Visit.Kind.RECHECK).exclude(satisfaction="")
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for agent_id, grade, n in rated.values_list("completed_by_id", "satisfaction").annotate(n=Count("id")):
        counts[agent_id][grade] = n
    uniform = uniform_agents(counts, min_sample=settings.FOLLOWUP_UNIFORM_MIN_SAMPLE)
    if uniform:
        for visit_id, agent_id in rated.filter(completed_by_id__in=list(uniform)).values_list("id", "completed_by_id"):
            flag(visit_id, VisitFlag.Kind.UNIFORM_RATINGS, agent_id, uniform[agent_id])

    # 4. The same words written down for different citizens by one agent.
    repeated = list(
        done.annotate(words_length=Length("citizen_words"))
        .filter(words_length__gte=settings.FOLLOWUP_REPEATED_WORDS_MIN_LENGTH)
        .values_list("completed_by_id", "citizen_words")
        .annotate(n=Count("id"))
        .filter(n__gte=settings.FOLLOWUP_REPEATED_WORDS_MIN)
    )
    if repeated:
        wanted = {(agent_id, words): n for agent_id, words, n in repeated}
        rows = done.filter(
            completed_by_id__in={a for a, _w in wanted}, citizen_words__in={w for _a, w in wanted}
        ).values_list("id", "completed_by_id", "citizen_words")
        for visit_id, agent_id, words in rows:
            if (agent_id, words) in wanted:
                flag(
                    visit_id,
                    VisitFlag.Kind.REPEATED_WORDS,
                    agent_id,
                    {"words": words[:200], "times": wanted[(agent_id, words)]},
                )

    # 5. A second agent's re-visit disagrees with the first (resolved, or two grades apart).
    for visit_id, agent_id, grade, resolved, re_grade, re_resolved, re_agent in done.filter(
        kind=Visit.Kind.RECHECK, recheck_of__isnull=False
    ).values_list(
        "recheck_of_id",
        "recheck_of__completed_by_id",
        "recheck_of__satisfaction",
        "recheck_of__resolved",
        "satisfaction",
        "resolved",
        "completed_by_id",
    ):
        gap = abs(GRADE_ORDER.index(grade) - GRADE_ORDER.index(re_grade)) if grade and re_grade else 0
        if resolved != re_resolved or gap >= 2:
            flag(
                visit_id,
                VisitFlag.Kind.RECHECK_DIFFERS,
                agent_id,
                {
                    "first": {"resolved": resolved, "satisfaction": grade},
                    "re_visit": {"resolved": re_resolved, "satisfaction": re_grade, "agent_id": re_agent},
                },
            )

    with transaction.atomic():
        before = VisitFlag.objects.count()
        VisitFlag.objects.bulk_create(flags, ignore_conflicts=True)
        created = VisitFlag.objects.count() - before
        # 6. The re-visit sample: a share of completed visits, chosen by id (reproducible).
        # The bucket is the visit id modulo 1000, so the same visits are picked on every run.
        rate_per_mille = int(round(settings.FOLLOWUP_RECHECK_SAMPLE_RATE * 1000))
        candidates = (
            done.exclude(kind=Visit.Kind.RECHECK)
            .filter(rechecks__isnull=True)
            .annotate(bucket=Mod("id", 1000))
            .filter(bucket__lt=rate_per_mille)
            .select_related("appeal")
        )
        rechecks = 0
        for visit in candidates:
            visit_schedule_recheck(actor=actor, visit=visit)
            rechecks += 1
        if created or rechecks:
            record(
                actor=actor,
                action="visit.formality_sweep",
                changes={"flags": created, "rechecks": rechecks},
                reason=_("formality checks"),
            )
    return {"flags": created, "rechecks": rechecks}
