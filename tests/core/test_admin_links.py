"""The admin shows a link to another page only to those who may open it (issue 11): the
History button, read-only foreign keys and "changed by" in the list of versions."""

import re

from django.urls import reverse

from apps.core.models import CalendarYear
from apps.tasks import services as task_services
from tests.factories import make_appeal


def _hrefs(response) -> set[str]:
    return set(re.findall(r'href="([^"?#]+)', response.content.decode()))


def test_the_history_button_shows_only_to_roles_who_may_open_the_history(client, catalog, dept_staff, inspector):
    category = catalog["leaf"]
    change = reverse("admin:appeals_category_change", args=[category.pk])
    history = reverse("admin:appeals_category_history", args=[category.pk])

    client.force_login(dept_staff)  # reads categories, not their history
    response = client.get(change)
    assert response.status_code == 200
    assert history not in _hrefs(response)
    assert client.get(history).status_code == 403  # the rule the button follows

    client.force_login(inspector)
    response = client.get(change)
    assert history in _hrefs(response)
    assert client.get(history).status_code == 200


def _signed_task(org, catalog, operator, dispatcher, dept_staff):
    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    task = task_services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["housing"], override_reason="test")
    return task_services.task_sign(actor=dept_staff, task=task)


def test_a_read_only_foreign_key_links_only_for_those_who_may_open_its_page(
    client, org, catalog, operator, dispatcher, dept_staff, inspector, audit_admin, holidays_2026
):
    from apps.audit.models import AuditEvent

    _signed_task(org, catalog, operator, dispatcher, dept_staff)
    entry = AuditEvent.objects.get(action="task.signed")
    change = reverse("admin:audit_auditevent_change", args=[entry.pk])
    signer = reverse("admin:organization_user_change", args=[dept_staff.pk])

    client.force_login(audit_admin)  # reads the log, may not open staff pages: plain text
    response = client.get(change)
    assert response.status_code == 200
    assert signer not in _hrefs(response)
    assert dept_staff.name in response.content.decode()
    assert client.get(signer).status_code == 404  # a page one may not open answers like a missing one

    client.force_login(inspector)
    response = client.get(change)
    assert signer in _hrefs(response)
    assert client.get(signer).status_code == 200


def test_changed_by_in_the_list_of_versions_links_only_to_staff_pages_that_open(
    client, org, catalog, operator, dispatcher, dept_staff, inspector, system_actor, holidays_2026
):
    task = _signed_task(org, catalog, operator, dispatcher, dept_staff)
    history = reverse("admin:tasks_task_history", args=[task.pk])
    signer = reverse("admin:organization_user_change", args=[dept_staff.pk])

    client.force_login(dept_staff)  # reads the work order's history, not staff pages
    response = client.get(history)
    assert response.status_code == 200
    assert signer not in _hrefs(response) and dept_staff.name in response.content.decode()

    client.force_login(inspector)
    response = client.get(history)
    assert signer in _hrefs(response)
    # The system account has no staff page (StaffAdmin leaves service accounts out): no link.
    year = CalendarYear.objects.get(year=2026)
    response = client.get(reverse("admin:core_calendaryear_history", args=[year.pk]))
    assert response.status_code == 200
    assert reverse("admin:organization_user_change", args=[system_actor.pk]) not in _hrefs(response)
