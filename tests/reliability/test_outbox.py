"""The outbox: a write succeeds with the broker down, and its job runs once when it is back."""

import pytest
from celery import Celery
from django.db import transaction

from apps.notifications.models import Notification
from apps.organization import services
from apps.outbox import services as outbox
from apps.outbox.models import OutboxMessage, ProcessedMessage


@pytest.fixture
def broker_down(monkeypatch):
    """A Celery app pointed at a port where nothing listens: a real connection failure."""
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)  # it would override the app's broker
    dead = Celery("dead-broker", broker="redis://127.0.0.1:1/0")
    dead.conf.broker_connection_timeout = 1
    dead.conf.task_always_eager = False
    monkeypatch.setattr(outbox, "celery_app", lambda: dead)
    return dead


def _role_change(org, security_admin):
    from tests.factories import make_user

    user = make_user(role="operator", department=org["centre"])
    services.staff_assign(actor=security_admin, user=user, department=org["centre"], role="dispatcher", reason="调岗")
    return user


def test_with_the_broker_down_a_write_succeeds_and_its_job_waits(
    org, security_admin, audit_admin, broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        user = _role_change(org, security_admin)
    user.refresh_from_db()
    assert user.role == "dispatcher"  # the change is committed
    job = OutboxMessage.objects.get(task_name="notifications.deliver")
    assert job.status == OutboxMessage.Status.PENDING
    assert job.attempts == 1
    assert job.last_error
    assert not Notification.objects.exists()


def test_once_the_broker_is_back_the_relay_delivers_exactly_once(
    org, security_admin, audit_admin, monkeypatch, broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _role_change(org, security_admin)
    job = OutboxMessage.objects.get(task_name="notifications.deliver")
    # The broker is back (in-process delivery), and the back-off has passed.
    monkeypatch.undo()
    job.available_at = job.created_at
    job.save(update_fields=["available_at"])
    first = outbox.relay_pending()
    second = outbox.relay_pending()
    assert (first.published, second.published) == (1, 0)
    job.refresh_from_db()
    assert job.status == OutboxMessage.Status.SENT
    assert Notification.objects.filter(recipient=audit_admin).count() == 1


def test_a_job_delivered_twice_is_handled_once(org, security_admin, audit_admin):
    from apps.notifications.tasks import deliver

    with transaction.atomic():
        job = outbox.enqueue("notifications.deliver", audience={"role": "audit_admin"}, title="t", body="b", link="")
    for _ in range(2):
        deliver.apply(kwargs=job.payload, task_id=str(job.id))
    assert Notification.objects.filter(recipient=audit_admin).count() == 1
    assert ProcessedMessage.objects.filter(message_id=job.id).count() == 1


def test_a_job_is_not_published_when_its_transaction_rolls_back(
    org, security_admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                outbox.enqueue("notifications.deliver", audience={"role": "audit_admin"}, title="t", body="", link="")
                raise RuntimeError("business rule failed")
    assert not callbacks
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_enqueue_refuses_to_run_outside_a_transaction():
    with pytest.raises(RuntimeError):
        outbox.enqueue("notifications.deliver", audience={"role": "x"}, title="t")


def test_the_relay_stops_at_the_first_broker_failure(org, broker_down):
    with transaction.atomic():
        for _ in range(3):
            outbox.enqueue("notifications.deliver", audience={"role": "audit_admin"}, title="t", body="", link="")
    result = outbox.relay_pending()
    assert (result.published, result.failed) == (0, 1)
    assert OutboxMessage.objects.filter(attempts=1).count() == 1
