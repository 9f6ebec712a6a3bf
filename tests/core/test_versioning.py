"""core.versioning: the lock-and-check and the versioned save every action service uses."""

import pytest
from django.db import transaction

from apps.appeals.models import Appeal
from apps.core import versioning
from apps.core.exceptions import StaleObject
from tests.factories import make_appeal


@pytest.fixture
def appeal(org, catalog, operator):
    return make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])


def test_lock_returns_the_row_when_the_version_is_the_one_the_user_saw(appeal):
    with transaction.atomic():
        locked = versioning.lock(Appeal.objects.all(), pk=appeal.pk, expected_version=appeal.version)
    assert locked == appeal and locked is not appeal


def test_lock_refuses_another_version_with_the_callers_message(appeal):
    with transaction.atomic(), pytest.raises(StaleObject, match=f"^Appeal {appeal.tracking_number} changed$"):
        versioning.lock(
            Appeal.objects.all(),
            pk=appeal.pk,
            expected_version=appeal.version + 1,
            stale_message=lambda a: f"Appeal {a.tracking_number} changed",
        )
    with transaction.atomic(), pytest.raises(StaleObject, match="^Reload$"):
        versioning.lock(Appeal.objects.all(), pk=appeal.pk, expected_version=0, stale_message="Reload")


def test_lock_without_an_expected_version_checks_nothing(appeal):
    with transaction.atomic():
        assert versioning.lock(Appeal.objects.all(), pk=appeal.pk, of=("self",)).version == appeal.version


def test_save_writes_the_next_version_with_who_and_why_and_only_the_fields_named(appeal, operator):
    appeal.address, appeal.content = "新地址", "changed in memory only"
    with transaction.atomic():
        versioning.save(appeal, actor=operator, reason="地址更正", fields=["address"])
    stored = Appeal.objects.get(pk=appeal.pk)
    assert stored.version == 2 and stored.address == "新地址" and stored.content != "changed in memory only"
    row = stored.history.first()
    assert row.history_user == operator and row.history_change_reason == "地址更正" and row.version == 2
