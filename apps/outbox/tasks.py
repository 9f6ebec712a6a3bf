from celery import shared_task

from apps.outbox import services


@shared_task(name="outbox.relay_pending", ignore_result=True)
def relay_pending() -> dict:
    result = services.relay_pending()
    return {"published": result.published, "failed": result.failed}
