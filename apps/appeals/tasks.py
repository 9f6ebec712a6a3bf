from celery import shared_task


@shared_task(name="appeals.anonymise_closed_appeals", ignore_result=True)
def anonymise_closed_appeals_monthly() -> dict:
    """Monthly (beat): anonymise personal data of appeals closed past the retention period."""
    from apps.appeals.retention import anonymise_closed_appeals
    from apps.organization.services import system_actor

    result = anonymise_closed_appeals(actor=system_actor())
    return {"anonymised": result.count}
