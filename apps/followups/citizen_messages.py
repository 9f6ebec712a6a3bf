"""Messages to citizens: queued with the change (outbox), rendered in Chinese and handed
to the configured sender by the consumer. The job carries no personal data: the consumer
reads the phone number itself."""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.module_loading import import_string

from apps.appeals.models import Appeal
from apps.outbox.services import enqueue

JOB = "followups.citizen_message"
KINDS = {"reply_ready", "visit_coming", "reopened"}


def queue(appeal, kind: str, *, due_at=None) -> None:
    if kind not in KINDS:
        raise ValueError(kind)
    if appeal.is_anonymous or not appeal.citizen_phone:
        return
    due = timezone.localtime(due_at).date().isoformat() if due_at else ""
    enqueue(JOB, appeal_id=appeal.pk, kind=kind, due=due)


def render(appeal, kind: str, *, due: str = "") -> str:
    with translation.override("zh-hans"):
        return render_to_string(f"followups/citizen/{kind}.txt", {"number": appeal.tracking_number, "due": due}).strip()


def deliver(*, appeal_id: int, kind: str, due: str = "") -> None:
    appeal = Appeal.objects.get(pk=appeal_id)
    if appeal.is_anonymous or not appeal.citizen_phone:
        return
    sender = import_string(settings.CITIZEN_MESSAGE_SENDER)
    sender(
        phone=appeal.citizen_phone,
        text=render(appeal, kind, due=due),
        kind=kind,
        tracking_number=appeal.tracking_number,
    )
