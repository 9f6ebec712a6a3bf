from django.core.management.base import BaseCommand

from apps.outbox.models import OutboxMessage
from apps.outbox.services import relay_pending


class Command(BaseCommand):
    help = "Publish pending outbox jobs now (the beat schedule does this every few seconds)."

    def handle(self, *args, **options):
        result = relay_pending()
        pending = OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).count()
        self.stdout.write(f"published={result.published} failed={result.failed} still_pending={pending}")
