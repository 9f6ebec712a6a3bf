"""Every action-log code a service writes has a label for the people who read the log."""

import re
from pathlib import Path

from apps.audit.actions import ACTION_LABELS, action_label
from apps.supervision.models import Level

APPS = Path(__file__).resolve().parents[2] / "apps"
# The string literals on a line that passes action=... to record(): "kind.what".
_ACTION_LINE = re.compile(r"\baction=(.+)$")
_CODE = re.compile(r'"([a-z_]+\.[a-z_]+)"')


def _codes_written() -> set[str]:
    codes = set()
    for path in APPS.rglob("*.py"):
        if "migrations" in path.parts or path.parts[-2] == "simulation":
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            match = _ACTION_LINE.search(line.strip())
            if match:
                codes.update(_CODE.findall(match.group(1)))
    codes.update(f"supervision.{level}_raised" for level in Level.values)  # built with an f-string
    return codes


def test_every_code_written_by_a_service_has_a_label():
    written = _codes_written()
    assert len(written) > 60, "the scan found too few codes: has record() changed?"
    missing = sorted(written - set(ACTION_LABELS))
    assert not missing, f"action-log codes without a label in apps/audit/actions.py: {missing}"


def test_labels_are_shown_in_the_readers_language():
    from django.utils import translation

    with translation.override("zh-hans"):
        assert action_label("task.extended") != "time limit extended"
    assert action_label("no.such_code") == "no.such_code"
