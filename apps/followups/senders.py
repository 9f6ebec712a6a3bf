"""Senders of messages to citizens (CITIZEN_MESSAGE_SENDER). A sender is a callable
send(*, phone, text, kind, tracking_number). Production plugs in the SMS gateway's."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from django.conf import settings

from apps.core.personal_data import mask_phone

logger = logging.getLogger(__name__)


def file_sender(*, phone: str, text: str, kind: str, tracking_number: str) -> None:
    """Default: one line per message in CITIZEN_MESSAGE_LOG (the phone masked), and the log."""
    line = f"{datetime.now().isoformat(timespec='seconds')}\t{kind}\t{tracking_number}\t{mask_phone(phone)}\t{text}"
    path = Path(settings.CITIZEN_MESSAGE_LOG)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(line.replace("\n", " ") + "\n")
    logger.info("Citizen message %s for %s queued to file", kind, tracking_number)


SENT: list[dict] = []


def memory_sender(*, phone: str, text: str, kind: str, tracking_number: str) -> None:
    """For tests: keeps the messages in SENT."""
    SENT.append({"phone": phone, "text": text, "kind": kind, "tracking_number": tracking_number})
