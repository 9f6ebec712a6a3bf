"""Helpers: an appeal walked through dispatch, reply and acceptance by the services."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from apps.followups import services as followup_services
from apps.tasks import services as task_services
from tests.factories import make_appeal, make_user

# A Tuesday morning in a week without holidays (the 2026 calendar is loaded).
START = timezone.make_aware(dt.datetime(2026, 3, 10, 9, 0))


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def market_staff(org):
    return make_user(role="dept_staff", department=org["market"])


@pytest.fixture
def market_leader(org):
    return make_user(role="dept_leader", department=org["market"])


@pytest.fixture
def citizen_outbox(settings):
    from apps.followups import senders

    settings.CITIZEN_MESSAGE_SENDER = "apps.followups.senders.memory_sender"
    senders.SENT.clear()
    yield senders.SENT
    senders.SENT.clear()


def reply_and_accept(task, *, staff, dispatcher, text="已清理占道摊点并安排每日巡查。"):
    task = task_services.task_sign(actor=staff, task=task) if task.status == "pending_sign" else task
    task = task_services.task_record_contact(
        actor=staff, task=task, contacted_at=None, method="phone", note="电话联系市民，约定现场查看"
    )
    task = task_services.task_reply(actor=staff, task=task, result="resolved", reply_text=text)
    return followup_services.task_review_and_schedule(actor=dispatcher, task=task, accept=True, comment="")


@pytest.fixture
def accepted(org, catalog, operator, dispatcher, market_staff, holidays_2026, clock):
    """An appeal whose market-bureau reply was just accepted: (appeal, task, visit)."""
    from apps.followups.models import Visit

    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    task = task_services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["market"])
    task = reply_and_accept(task, staff=market_staff, dispatcher=dispatcher)
    visit = Visit.objects.get(appeal=appeal)
    return appeal, task, visit


def call(visit, agent, *, minutes=5, clock=None):
    """Start the call and let a plausible call length pass."""
    from apps.followups import services

    visit = services.visit_start_call(actor=agent, visit=visit)
    if clock is not None:
        clock.shift(dt.timedelta(minutes=minutes))
    return visit
