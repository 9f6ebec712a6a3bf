from celery import shared_task


@shared_task(name="authorization.approval_sweep", ignore_result=True)
def approval_sweep() -> dict:
    """Every few minutes (beat): remind leaders of stale requests, then hand them up."""
    from apps.authorization.services import approval_sweep as sweep
    from apps.organization.services import system_actor

    return sweep(actor=system_actor())
