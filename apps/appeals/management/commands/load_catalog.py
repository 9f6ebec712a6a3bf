"""Load the category taxonomy and the dispatch catalogue from fixtures/ through the
services (history and action log included). Safe to run twice."""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.appeals import catalog
from apps.appeals.models import Category, DispatchRule
from apps.organization.models import Area, Department
from apps.organization.services import system_actor

REASON = "reference catalogue"


class Command(BaseCommand):
    help = "Load categories (fixtures/categories.json) and dispatch rules (fixtures/dispatch_rules.json)."

    def handle(self, *args, **options):
        base = Path(settings.BASE_DIR) / "fixtures"
        try:
            categories = json.loads((base / "categories.json").read_text(encoding="utf-8"))
            rules = json.loads((base / "dispatch_rules.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read the catalogue: {exc}") from None
        actor = system_actor()
        departments = {d.code: d for d in Department.objects.all()}
        areas = {a.code: a for a in Area.objects.all()}
        with transaction.atomic():
            known = {c.code: c for c in Category.objects.all()}
            for row in categories:
                if row["code"] in known:
                    continue
                known[row["code"]] = catalog.category_save(
                    actor=actor,
                    code=row["code"],
                    name=row["name"],
                    parent=known[row["parent"]] if row.get("parent") else None,
                    reason=REASON,
                )
            for row in categories:
                lead = row.get("lead_department")
                if not lead or DispatchRule.objects.filter(category=known[row["code"]], area=None).exists():
                    continue
                if lead != "@street" and lead not in departments:
                    raise CommandError(f"Category {row['code']}: unknown department {lead}")
                catalog.dispatch_rule_save(
                    actor=actor,
                    category=known[row["code"]],
                    area=None,
                    lead_department=None if lead == "@street" else departments[lead],
                    route_to_local_street=lead == "@street",
                    reason=REASON,
                )
            for row in rules:
                category, area = known[row["category"]], areas[row["area"]]
                if DispatchRule.objects.filter(category=category, area=area).exists():
                    continue
                catalog.dispatch_rule_save(
                    actor=actor,
                    category=category,
                    area=area,
                    lead_department=departments[row["lead_department"]],
                    co_departments=[departments[c] for c in row.get("co_departments", [])],
                    note=row.get("note", ""),
                    reason=REASON,
                )
        self.stdout.write(
            self.style.SUCCESS(
                f"Catalogue: {Category.objects.count()} categories, {DispatchRule.objects.count()} dispatch rules."
            )
        )
