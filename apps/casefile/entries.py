"""What one line of a case record holds, and how its values read.

Every value shown in a timeline goes through `display()`: times in the city's time zone in
one format, choice codes as their labels, yes/no in words, linked rows by name, and every
phone or ID number in a text masked (apps.core.personal_data: stored whole, shown masked;
a citizen's own fields by their own mask, if a source ever shows them). So the case desk,
the inspector's record and the exports all read the same way, and none shows a whole
number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from apps.core.personal_data import mask_address, mask_id_number, mask_name, mask_phone, mask_text
from apps.core.timefmt import local_minute

# A citizen's personal fields, by name, wherever a record holds them (a history row, an
# action-log key): shown by their own mask, never whole.
PERSONAL_MASKS = {
    "citizen_name": mask_name,
    "citizen_phone": mask_phone,
    "phone": mask_phone,
    "citizen_id_number": mask_id_number,
    "id_number": mask_id_number,
    "address": mask_address,
}


@dataclass
class Change:
    field: str
    label: str
    old: Any
    new: Any
    # Values naming rows of another table, resolved to names for the whole page at once
    # (apps.casefile.sources.name_links): ("organization.department", "pk" or "code").
    link: tuple[str, str] | None = None

    @property
    def old_text(self) -> str:
        return self._text(self.old)

    @property
    def new_text(self) -> str:
        return self._text(self.new)

    def _text(self, value) -> str:
        personal = PERSONAL_MASKS.get(self.field)
        if personal is not None and isinstance(value, str) and value:
            return personal(value)
        return display(value)

    @property
    def is_set_once(self) -> bool:
        """A value recorded, not changed from an earlier one (shown without an arrow)."""
        return self.old is None


@dataclass
class Entry:
    at: dt.datetime
    source: str
    rank: int
    pk: int
    source_label: str
    object_id: Any
    object_label: str
    kind: str
    kind_label: str
    actor_id: int | None
    actor_name: str
    actor_role: str
    reason: str
    changes: list[Change] = field(default_factory=list)
    appeal_id: int | None = None
    actor_department: str = ""
    target_type: str = ""

    def __post_init__(self):
        # Reasons and labels are free text typed by people: masked once, here, for every
        # page and export that shows the entry.
        self.reason = mask_text(self.reason or "")
        self.object_label = mask_text(str(self.object_label or ""))

    @property
    def ref(self) -> str:
        return f"{self.source}:{self.pk}"

    @property
    def sort_key(self) -> tuple:
        return (self.at, self.rank, self.pk)

    @property
    def at_text(self) -> str:
        return local_minute(self.at)

    @property
    def actor_text(self) -> str:
        """"张伟 · 部门负责人 · 市住建局"; the system account reads as such."""
        parts = [self.actor_name or _("system"), self.actor_role, self.actor_department]
        return " · ".join(p for p in parts if p)

    @property
    def changes_text(self) -> str:
        return "; ".join(
            f"{c.label}: {c.new_text}" if c.is_set_once else f"{c.label}: {c.old_text} → {c.new_text}"
            for c in self.changes
        )


def display(value) -> str:
    """One reading of a recorded value (see the module docstring)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, dt.datetime):
        return local_minute(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] in "T ":
        parsed = parse_datetime(value)  # the action log keeps times as ISO text (UTC)
        if parsed is not None:
            return local_minute(parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, dt.UTC))
    if isinstance(value, list | tuple):
        return "、".join(display(v) for v in value)
    return mask_text(str(value))
