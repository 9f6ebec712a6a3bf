from celery import current_task

from apps.notifications import services
from apps.outbox.consumers import outbox_consumer


@outbox_consumer(services.DELIVER_JOB)
def deliver(*, audience: dict, title: str, body: str = "", link: str = "") -> None:
    job_id = getattr(current_task.request, "id", None)
    services.deliver(audience=audience, title=title, body=body, link=link, source_job=job_id)
