from django.core.management.base import BaseCommand

from apps.organization.calendar import calendar_import_library
from apps.organization.services import system_actor


class Command(BaseCommand):
    help = "Load official holidays and make-up working days from the chinese-calendar library."

    def add_arguments(self, parser):
        parser.add_argument("years", nargs="*", type=int, help="years to load (default: all the library covers)")

    def handle(self, *args, years, **options):
        loaded = calendar_import_library(
            actor=system_actor(), years=years or None, reason="import from the chinese-calendar library"
        )
        self.stdout.write(f"Calendar years loaded: {', '.join(map(str, loaded)) or 'none'}")
