"""Load the demo city (fixtures/demo_city.json) through the services, so the demo data
has history and action-log entries like real data. Safe to run twice."""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.organization import services
from apps.organization.models import Area, Department, User
from apps.organization.second_factor import DEVICE_NAME, requires_second_factor

DEMO_PASSWORD = "Demo@12345"
REASON = "demo city"
# The one TOTP key of every demo login that needs a second factor (README): published, so
# demo only. Base32 JBSWY3DPEHPK3PXP...; `manage.py demo_totp <username>` prints the code.
DEMO_TOTP_KEY = "48656c6c6f21deadbeef48656c6c6f21deadbeef"


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
        for user in users.values():
            if requires_second_factor(user) and user.username in {row["username"] for row in rows}:
                self._demo_device(user)
        return users

    def _demo_device(self, user):
        """A confirmed TOTP device with the demo key, so the demo needs no enrolment."""
        from django_otp.plugins.otp_totp.models import TOTPDevice

        if settings.PRODUCTION:
            raise CommandError("The demo TOTP key is public; it is never given in production.")
        if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            TOTPDevice.objects.create(user=user, name=DEVICE_NAME, key=DEMO_TOTP_KEY, confirmed=True)
