from celery import shared_task


@shared_task(name="tasks.sla_sweep", ignore_result=True)
def sla_sweep() -> dict:
    """Every minute (beat): mark missed limits, issue reminders. Idempotent."""
    from apps.organization.services import system_actor
    from apps.tasks.services import sla_sweep as sweep

    return sweep(actor=system_actor())
