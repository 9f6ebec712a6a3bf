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


def test_the_audit_list_filters_by_role_and_action_without_scanning_the_log(
    client, audit_admin, system_admin, django_assert_max_num_queries
):
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from apps.audit.services import record

    with transaction.atomic():
        record(actor=system_admin, action="category.saved", reason="分类调整")
        record(actor=system_admin, action="sla_rule.saved", reason="时限调整")
    client.force_login(audit_admin)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/admin/audit/auditevent/", {"actor_role": "system_admin", "action": "sla_rule.saved"})
    assert response.status_code == 200
    shown = list(response.context["cl"].result_list)
    assert [e.action for e in shown] == ["sla_rule.saved"]
    assert not [q for q in ctx.captured_queries if "DISTINCT" in q["sql"]], "a list filter scanned the whole log"
    assert str(ACTION_LABELS["sla_rule.saved"]) in response.content.decode()
