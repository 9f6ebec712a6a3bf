from celery import shared_task


@shared_task(name="supervision.ladder_sweep", ignore_result=True)
def ladder_sweep() -> dict:
    """Every few minutes (beat): raise 催办 → 督办 → 通报 steps that are due. Idempotent."""
    from apps.organization.services import system_actor
    from apps.supervision.services import supervision_sweep

    return supervision_sweep(actor=system_actor())
