from celery import shared_task

from apps.outbox.consumers import outbox_consumer


@outbox_consumer("followups.citizen_message")
def citizen_message(*, appeal_id: int, kind: str, due: str = "") -> None:
    """Render a message to a citizen and hand it to CITIZEN_MESSAGE_SENDER (once per job)."""
    from apps.followups.citizen_messages import deliver

    deliver(appeal_id=appeal_id, kind=kind, due=due)


@shared_task(name="followups.formality_sweep", ignore_result=True)
def formality_sweep() -> dict:
    """Hourly (beat): formality flags and the re-visit sample. Idempotent."""
    from apps.followups.formality import formality_sweep as sweep
    from apps.organization.services import system_actor

    return sweep(actor=system_actor())
