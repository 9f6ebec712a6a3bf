"""Anonymise the personal data of appeals closed more than PERSONAL_DATA_RETENTION_YEARS
ago (apps.appeals.retention; also monthly on Celery beat).

Append-only exception: on PostgreSQL the history tables refuse UPDATE; each batch of this
command declares sanctioned maintenance (SET LOCAL xlx.maintenance = 'on') in its own
transaction, to overwrite the personal data of those appeals' history rows and nothing
else. The run is one entry in the action log with the count.
"""

from django.core.management.base import BaseCommand, CommandError

from apps.appeals.retention import anonymise_closed_appeals
from apps.organization.services import system_actor


class Command(BaseCommand):
    help = (
        "Anonymise citizens' personal data of appeals closed more than PERSONAL_DATA_RETENTION_YEARS ago "
        "(name, phone, ID number emptied; address cut to the street; numbers in free text masked)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="list what would be anonymised; change nothing")
        parser.add_argument("--years", type=int, default=None, help="override PERSONAL_DATA_RETENTION_YEARS")
        parser.add_argument("--batch", type=int, default=500, help="appeals per transaction (500)")

    def handle(self, *args, dry_run=False, years=None, batch=500, **options):
        if years is not None and years < 1:
            raise CommandError("--years must be at least 1.")
        if batch < 1:
            raise CommandError("--batch must be at least 1.")

        def progress(run):
            self.stdout.write(
                f"anonymised {run.count} appeals ({run.related_rows} related rows, {run.history_rows} history rows)"
            )

        run = anonymise_closed_appeals(
            actor=system_actor(), years=years, dry_run=dry_run, batch=batch, progress=progress
        )
        cut = run.cutoff.date().isoformat()
        if dry_run:
            self.stdout.write(f"dry run: {run.count} appeals closed before {cut} would be anonymised")
            for number in run.tracking_numbers:
                self.stdout.write(number)
            return
        self.stdout.write(self.style.SUCCESS(f"{run.count} appeals closed before {cut} anonymised"))
