"""A real Celery worker on a real broker: Redis when CELERY_BROKER_URL points at it (CI's
second run), otherwise the file-system transport of the zero-install default."""

import time

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from apps.notifications.models import Notification
from apps.organization import services
from apps.outbox import services as outbox
from apps.outbox.models import OutboxMessage, ProcessedMessage

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def broker_app(tmp_path, monkeypatch):
    url = settings.CELERY_BROKER_URL
    # Celery lets the CELERY_BROKER_URL variable override every app's configuration; the
    # tests configure each app (the real broker, the dead one) explicitly instead.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    app = Celery("xlx-test-worker", set_as_current=False)
    app.conf.update(
        broker_url=url,
        task_ignore_result=True,
        broker_connection_timeout=3,
        broker_connection_retry_on_startup=True,
    )
    if url.startswith("filesystem://"):
        folder = tmp_path / "broker"
        folder.mkdir()
        app.conf.broker_transport_options = {
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "control_folder": str(tmp_path / "control"),
        }
        # As in settings: no pidbox on the file-system transport (its exchange file races).
        app.conf.worker_enable_remote_control = False
    elif url.startswith("redis"):
        # Our own queue name, so a stray worker on the same Redis cannot take the jobs.
        app.conf.task_default_queue = "xlx-test-worker"
    app.loader.import_default_modules()
    return app


def _wait_for(predicate, seconds=15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _setup_org():
    from tests.factories import build_org, make_user

    org = build_org()
    admin_user = make_user(role="security_admin", department=org["centre"])
    auditor = make_user(role="audit_admin", department=org["supervision"])
    return org, admin_user, auditor


def test_a_service_write_reaches_a_real_worker_after_commit(broker_app, monkeypatch):
    monkeypatch.setattr(outbox, "celery_app", lambda: broker_app)
    org, admin_user, auditor = _setup_org()
    from tests.factories import make_user

    user = make_user(role="operator", department=org["centre"])
    with start_worker(broker_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        services.staff_assign(actor=admin_user, user=user, department=org["centre"], role="dispatcher", reason="调岗")
        assert _wait_for(lambda: Notification.objects.filter(recipient=auditor).exists())
    job = OutboxMessage.objects.get(task_name="notifications.deliver")
    assert job.status == OutboxMessage.Status.SENT
    assert ProcessedMessage.objects.filter(message_id=job.id).exists()


def test_jobs_wait_while_the_broker_is_down_and_run_once_when_it_is_back(broker_app, monkeypatch):
    dead = Celery("dead-broker", broker="redis://127.0.0.1:1/0", set_as_current=False)
    dead.conf.broker_connection_timeout = 1
    monkeypatch.setattr(outbox, "celery_app", lambda: dead)
    org, admin_user, auditor = _setup_org()
    from tests.factories import make_user

    user = make_user(role="operator", department=org["centre"])
    services.staff_assign(actor=admin_user, user=user, department=org["centre"], role="dispatcher", reason="调岗")
    job = OutboxMessage.objects.get(task_name="notifications.deliver")
    assert job.status == OutboxMessage.Status.PENDING

    monkeypatch.setattr(outbox, "celery_app", lambda: broker_app)
    job.available_at = job.created_at  # the back-off has passed
    job.save(update_fields=["available_at"])
    with start_worker(broker_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        assert outbox.relay_pending().published == 1
        assert _wait_for(lambda: Notification.objects.filter(recipient=auditor).exists())
        assert outbox.relay_pending().published == 0
        # A duplicate delivery (a relay that crashed before marking the job sent) is ignored.
        broker_app.send_task("notifications.deliver", kwargs=job.payload, task_id=str(job.id))
        time.sleep(1.5)
    assert Notification.objects.filter(recipient=auditor).count() == 1
