"""Adaptations take effect at intake (priority) and dispatch (resolve limit), inside their
period and area only."""

import datetime as dt

from django.utils import timezone

from apps.authorization.adaptations import rule_adaptation_issue
from apps.tasks import services as task_services
from tests.factories import make_appeal


def test_a_live_adaptation_raises_the_priority_of_new_appeals_in_its_area_only(
    org, catalog, operator, city_leader, time_machine
):
    rule_adaptation_issue(
        actor=city_leader,
        kind="raise_priority",
        category=catalog["mid"],
        area=org["district"],
        priority="P1",
        reason="汛期市容专项整治",
        valid_until=timezone.now() + dt.timedelta(days=30),
    )
    inside = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    outside = make_appeal(operator=operator, category=catalog["leaf"], area=org["city"])
    assert (inside.priority, outside.priority) == ("P1", "P2")
    time_machine.move_to(timezone.now() + dt.timedelta(days=31), tick=False)
    expired = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    assert expired.priority == "P2"


def test_a_live_adaptation_shortens_the_resolve_limit_at_dispatch(org, catalog, operator, dispatcher, city_leader):
    rule_adaptation_issue(
        actor=city_leader,
        kind="shorten_limit",
        category=catalog["leaf"],
        area=None,
        resolve_amount=3,
        resolve_unit="calendar_days",
        reason="集中整治",
        valid_until=timezone.now() + dt.timedelta(days=10),
    )
    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    task = task_services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["market"])
    assert task.resolve_due_at - task.dispatched_at == dt.timedelta(days=3)
    other = make_appeal(operator=operator, category=catalog["other"], area=org["street"])
    other_task = task_services.appeal_dispatch(
        actor=dispatcher, appeal=other, lead=org["market"], override_reason="测试"
    )
    assert other_task.resolve_due_at - other_task.dispatched_at == dt.timedelta(days=7)
