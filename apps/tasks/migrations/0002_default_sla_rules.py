"""Seed the time-limit table with the defaults of DESIGN §5 (editable in the admin)."""

from django.db import migrations

DEFAULTS = [
    # priority, sign, contact, resolve
    ("P0", (30, "minutes"), (30, "minutes"), (24, "hours")),
    ("P1", (30, "minutes"), (2, "hours"), (24, "hours")),
    ("P2", (1, "working_days"), (1, "working_days"), (7, "calendar_days")),
    ("P3", (1, "working_days"), (2, "working_days"), (15, "calendar_days")),
]


def seed(apps, schema_editor):
    SlaRule = apps.get_model("tasks", "SlaRule")
    HistoricalSlaRule = apps.get_model("tasks", "HistoricalSlaRule")
    from django.utils import timezone

    now = timezone.now()
    for priority, sign, contact, resolve in DEFAULTS:
        rule = SlaRule.objects.create(
            priority=priority, appeal_type="", category=None,
            sign_amount=sign[0], sign_unit=sign[1], contact_amount=contact[0], contact_unit=contact[1],
            resolve_amount=resolve[0], resolve_unit=resolve[1], is_active=True,
        )
        # Migrations do not send post_save to historical models: write the first history row.
        HistoricalSlaRule.objects.create(
            id=rule.id, priority=priority, appeal_type="", category_id=None,
            sign_amount=sign[0], sign_unit=sign[1], contact_amount=contact[0], contact_unit=contact[1],
            resolve_amount=resolve[0], resolve_unit=resolve[1], is_active=True,
            created_at=rule.created_at, updated_at=rule.updated_at,
            history_date=now, history_type="+", history_change_reason="defaults of DESIGN §5",
        )


def unseed(apps, schema_editor):
    pass  # rules are never deleted; a rollback keeps them


class Migration(migrations.Migration):
    dependencies = [("tasks", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
