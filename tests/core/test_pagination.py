"""Changelist counts: the planner's estimate for big results, a bounded count for small ones."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from apps.core import pagination
from apps.core.pagination import EstimatedCountPaginator

pytestmark = pytest.mark.django_db


@pytest.fixture
def days():
    Group.objects.bulk_create(Group(name=f"pagination-{i:02d}") for i in range(10))
    return Group.objects.filter(name__startswith="pagination-").order_by("name")


def test_other_databases_count_exactly(days, monkeypatch):
    monkeypatch.setattr(pagination, "planner_estimate", lambda qs: None)
    monkeypatch.setattr(pagination, "EXACT_BELOW", 3)
    assert EstimatedCountPaginator(days, 5).count == 10


def test_a_large_estimate_is_used_without_counting(days, monkeypatch, django_assert_num_queries):
    monkeypatch.setattr(pagination, "planner_estimate", lambda qs: 50_000)
    with django_assert_num_queries(0):
        assert EstimatedCountPaginator(days, 5).count == 50_000


def test_a_small_estimate_is_checked_by_a_count_that_stops_after_the_threshold(days, monkeypatch):
    # The planner said 1 row; there are 10. The count must not read them all: it stops at
    # EXACT_BELOW + 1, which is what a badly underestimated million-row search needs.
    monkeypatch.setattr(pagination, "planner_estimate", lambda qs: 1)
    monkeypatch.setattr(pagination, "EXACT_BELOW", 3)
    assert EstimatedCountPaginator(days, 5).count == 4
    monkeypatch.setattr(pagination, "EXACT_BELOW", 20)
    assert EstimatedCountPaginator(days, 5).count == 10


@pytest.mark.skipif(connection.vendor != "postgresql", reason="planner estimates exist on PostgreSQL only")
def test_the_planner_is_asked_on_postgresql(days):
    assert pagination.planner_estimate(days) is not None
