"""The benchmark tools must not rot: generate a tiny city and run every measure once.

No timing is asserted here (benchmarks print figures; see bench/run.py): only that each
measure runs through the real pages and services and reports a figure.
"""

import pytest
from django.core.management import call_command

from bench import measures


@pytest.fixture
def tiny_city(db):
    call_command("seed_city", appeals=400, departments=60, staff=200, seed=7, verbosity=0)


def _all_figures(people):
    return [
        *measures.department_list(people, repeat=1),
        measures.department_list_floor(people, repeat=1),
        *measures.dispatcher_lists(people, repeat=1),
        *measures.task_pages(people, repeat=1),
        *measures.searches(people, repeat=1),
        measures.visit_queue(people, repeat=1, queue_size=50),
        *measures.history_queries(people, repeat=1),
        *measures.oversight_pages(people, repeat=1),
        *measures.periodic_jobs(people, visits=50),
        measures.intake(people, count=3, commit=False),
        measures.sla_sweep(people, 0.01),
        measures.sla_sweep(people, 0.10),
    ]


def test_every_benchmark_measure_runs_on_a_generated_city(tiny_city, settings):
    settings.OUTBOX_PUBLISH_ON_COMMIT = False
    people = measures.pick_people()
    with measures.keep_query_log():
        figures = _all_figures(people)
    from apps.tasks.models import Task

    # 3e (the review page) needs a reply waiting for review, which a tiny city may not have.
    assert len(figures) == 29 + Task.objects.filter(status="replied").exists()
    for figure in figures:
        assert figure.median_ms is not None or figure.rate_per_s is not None or figure.value is not None, figure
    pages = [f for f in figures if f.queries is not None and f.name[0] in "12347" and not f.name.startswith("1c")]
    assert all(f.queries > 0 for f in pages), pages
    # The rolled-back measures leave the city as it was.
    from apps.appeals.models import Appeal

    assert Appeal.objects.count() == 400
