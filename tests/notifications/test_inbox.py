"""The inbox: links open the linked page (internal paths only), and opening a
notification marks it read for its recipient, and for nobody else."""

from __future__ import annotations

import re

import pytest

from apps.notifications.models import Notification

TASK_LINK = "/admin/tasks/task/42/change/"
UNSAFE_LINKS = [
    "javascript:alert(1)",
    "https://elsewhere.example/admin/",
    "//elsewhere.example/admin/",
    "/\\elsewhere.example/admin/",
    '/admin/"><script>alert(1)</script>',
]


def _note(user, link=TASK_LINK, title="New work order 20261201-000001"):
    return Notification.objects.create(recipient=user, title=title, body="body", link=link)


def _list(client):
    return client.get("/admin/notifications/notification/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_the_list_row_opens_the_linked_page_through_the_notification(client, dept_staff):
    note = _note(dept_staff)
    client.force_login(dept_staff)
    body = _list(client)
    open_url = f"/admin/notifications/notification/{note.pk}/open/"
    assert f'<a href="{open_url}">open</a>' in body

    response = client.get(open_url)
    assert response.status_code == 302
    assert response["Location"] == TASK_LINK
    note.refresh_from_db()
    assert note.read_at is not None


def test_opening_a_notification_page_marks_it_read_and_shows_the_link(client, dept_staff):
    note = _note(dept_staff)
    client.force_login(dept_staff)
    response = client.get(f"/admin/notifications/notification/{note.pk}/change/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert f'<a href="{TASK_LINK}">Open the linked page</a>' in response.content.decode()
    note.refresh_from_db()
    assert note.read_at is not None


def test_opening_again_keeps_the_first_read_time(client, dept_staff):
    note = _note(dept_staff)
    client.force_login(dept_staff)
    client.get(f"/admin/notifications/notification/{note.pk}/change/")
    note.refresh_from_db()
    first = note.read_at
    client.get(f"/admin/notifications/notification/{note.pk}/open/")
    note.refresh_from_db()
    assert note.read_at == first


@pytest.mark.parametrize("action", ["change", "open"])
def test_someone_elses_notification_is_not_found_and_stays_unread(client, dept_staff, outsider, action):
    note = _note(dept_staff)
    client.force_login(outsider)
    response = client.get(f"/admin/notifications/notification/{note.pk}/{action}/")
    assert response.status_code == 404
    note.refresh_from_db()
    assert note.read_at is None


@pytest.mark.parametrize("link", UNSAFE_LINKS)
def test_a_link_that_is_not_a_path_on_this_site_is_never_a_link(client, dept_staff, link):
    note = _note(dept_staff, link=link)
    client.force_login(dept_staff)
    assert f"/admin/notifications/notification/{note.pk}/open/" not in _list(client)

    page = client.get(f"/admin/notifications/notification/{note.pk}/change/").content.decode()
    assert "Open the linked page" not in page and "打开所链接的页面" not in page
    assert "<script>alert(1)</script>" not in page  # shown as text, escaped

    # The open URL, typed by hand, goes to the notification itself, never to the link.
    response = client.get(f"/admin/notifications/notification/{note.pk}/open/")
    assert response["Location"] == f"/admin/notifications/notification/{note.pk}/change/"


def test_a_notification_without_a_link_has_no_open_link(client, dept_staff):
    note = _note(dept_staff, link="")
    client.force_login(dept_staff)
    assert f"/admin/notifications/notification/{note.pk}/open/" not in _list(client)


def test_the_list_speaks_chinese(client, dept_staff):
    _note(dept_staff)
    client.force_login(dept_staff)
    body = client.get("/admin/notifications/notification/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert ">打开</a>" in body


def test_marking_read_ignores_other_peoples_notifications(dept_staff, outsider):
    from apps.notifications.services import notification_mark_read

    mine, theirs = _note(dept_staff), _note(outsider)
    assert notification_mark_read(actor=dept_staff, notifications=[mine, theirs]) == 1
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.read_at is not None
    assert theirs.read_at is None


def test_the_workbench_link_lists_the_unread_ones(client, dept_staff):
    unread, read = _note(dept_staff, title="still unread"), _note(dept_staff, title="already read")
    Notification.objects.filter(pk=read.pk).update(read_at="2026-12-01T10:00:00+08:00")
    client.force_login(dept_staff)
    body = client.get(
        "/admin/notifications/notification/?read_at__isnull=True", HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    assert unread.title in body and read.title not in body
    assert re.search(r'<li class="selected">\s*<a href="[^"]*">未读</a>', body)
