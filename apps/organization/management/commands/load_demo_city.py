"""Load the demo city (fixtures/demo_city.json) through the services, so the demo data
has history and action-log entries like real data. Safe to run twice."""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.organization import services
from apps.organization.models import Area, Department, User

DEMO_PASSWORD = "Demo@12345"
REASON = "demo city"


class Command(BaseCommand):
    help = "Load the demo city: areas, departments and one demo login per role (password printed)."

    def add_arguments(self, parser):
        parser.add_argument("--file", default=str(Path(settings.BASE_DIR) / "fixtures" / "demo_city.json"))
        parser.add_argument("--password", default=DEMO_PASSWORD, help="password for every demo login")

    def handle(self, *args, file, password, **options):
        try:
            data = json.loads(Path(file).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from None
        actor = services.system_actor()
        with transaction.atomic():
            areas = self._areas(actor, data["areas"])
            departments = self._departments(actor, data["departments"], areas)
            users = self._users(actor, data["users"], departments, password)
        self.stdout.write(
            self.style.SUCCESS(f"Demo city: {len(areas)} areas, {len(departments)} departments, {len(users)} staff.")
        )

    def _areas(self, actor, rows):
        areas = {a.code: a for a in Area.objects.all()}
        for row in rows:
            if row["code"] not in areas:
                areas[row["code"]] = services.area_create(
                    actor=actor,
                    code=row["code"],
                    name=row["name"],
                    kind=row["kind"],
                    parent=areas.get(row["parent"]) if row.get("parent") else None,
                    reason=REASON,
                )
        return areas

    def _departments(self, actor, rows, areas):
        departments = {d.code: d for d in Department.objects.all()}
        for row in rows:
            if row["code"] not in departments:
                departments[row["code"]] = services.department_create(
                    actor=actor,
                    code=row["code"],
                    name=row["name"],
                    short_name=row.get("short_name", ""),
                    kind=row["kind"],
                    area=areas[row["area"]],
                    parent=departments.get(row["parent"]) if row.get("parent") else None,
                    phone=row.get("phone", ""),
                    reason=REASON,
                )
        return departments

    def _users(self, actor, rows, departments, password):
        users = {u.username: u for u in User.objects.all()}
        for row in rows:
            if row["username"] not in users:
                users[row["username"]] = services.staff_create(
                    actor=actor,
                    username=row["username"],
                    name=row["name"],
                    role=row["role"],
                    department=departments[row["department"]],
                    password=password,
                    reason=REASON,
                )
        return users
