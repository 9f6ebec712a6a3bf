from django.core.management.base import BaseCommand, CommandError

from apps.audit.chain import verify_chain


class Command(BaseCommand):
    help = "Verify the action log's hash chain and report the first broken link (exit 1 if broken)."

    def handle(self, *args, **options):
        report = verify_chain()
        if report.ok:
            self.stdout.write(self.style.SUCCESS(f"Action log intact: {report.checked} entries verified."))
            return
        raise CommandError(
            f"Action log broken at entry #{report.broken_seq}: {report.problem} "
            f"({report.checked} entries before it verified)."
        )
