"""Notifications to staff. Producers enqueue a job; the consumer writes the inbox rows.

Infrastructure below the organisation: audiences are resolved against the user model
(settings.AUTH_USER_MODEL, whose `role` and `is_service_account` they read) without
importing apps.organization, which itself notifies.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from apps.notifications.models import Notification
from apps.outbox.services import enqueue

DELIVER_JOB = "notifications.deliver"


def notify_role(*, role: str, title: str, body: str = "", link: str = "") -> None:
    """Every active holder of `role` gets the notification (after commit)."""
    enqueue(DELIVER_JOB, audience={"role": role}, title=str(title), body=str(body), link=link)


def notify_users(*, user_ids: list[int], title: str, body: str = "", link: str = "") -> None:
    enqueue(DELIVER_JOB, audience={"user_ids": list(user_ids)}, title=str(title), body=str(body), link=link)


def notify_group(*, group_name: str, title: str, body: str = "", link: str = "") -> None:
    """Every active member of an auth group (a department's group, a role group)."""
    enqueue(DELIVER_JOB, audience={"group": group_name}, title=str(title), body=str(body), link=link)


def _recipients(audience: dict) -> list[int]:
    """Active staff in an audience: {"role": r} | {"user_ids": [...]} | {"group": name}."""
    qs = get_user_model().objects.filter(is_active=True, is_service_account=False)
    if "role" in audience:
        qs = qs.filter(role=audience["role"])
    elif "user_ids" in audience:
        qs = qs.filter(pk__in=audience["user_ids"])
    elif "group" in audience:
        qs = qs.filter(groups__name=audience["group"])
    else:
        raise ValueError(f"Unknown audience: {audience!r}")
    return list(qs.values_list("pk", flat=True))


def deliver(*, audience: dict, title: str, body: str, link: str, source_job=None) -> int:
    """Write one inbox row per active recipient. Called by the outbox consumer."""
    recipients = _recipients(audience)
    Notification.objects.bulk_create(
        [
            Notification(recipient_id=uid, title=title[:200], body=body, link=link, source_job=source_job)
            for uid in recipients
        ],
        ignore_conflicts=source_job is not None,
    )
    return len(recipients)


@transaction.atomic
def notification_mark_read(*, actor, notifications) -> int:
    """Mark the actor's own notifications read; other people's are ignored."""
    ids = [n.pk for n in notifications if n.recipient_id == actor.pk and n.read_at is None]
    now = timezone.now()
    for note in Notification.objects.select_for_update().filter(pk__in=ids):
        note.read_at = now
        note.save(update_fields=["read_at"])
    return len(ids)
