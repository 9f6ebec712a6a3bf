"""The run command's data: the demo city loads (twice, harmlessly), and every demo login
lands on a workbench whose links all open."""

import re

import pytest
from django.core.management import call_command

DEMO_LOGINS = [
    "operator",
    "dispatcher",
    "dept_staff",
    "dept_leader",
    "city_leader",
    "visitor",
    "inspector",
    "sysadmin",
    "secadmin",
    "auditadmin",
]


@pytest.fixture
def demo(db):
    call_command("import_holidays", "2025", "2026")
    call_command("load_demo_city", "--password", "Demo@12345")
    call_command("load_catalog")
    call_command("load_demo_appeals")


def test_loading_twice_adds_nothing(demo):
    from apps.appeals.models import Appeal
    from apps.organization.models import Department, User

    counts = (Department.objects.count(), User.objects.count(), Appeal.objects.count())
    call_command("load_demo_city", "--password", "Demo@12345")
    call_command("load_catalog")
    call_command("load_demo_appeals")
    assert (Department.objects.count(), User.objects.count(), Appeal.objects.count()) == counts
    assert Department.objects.count() > 3000 / 100  # a real tree, not a toy


def test_each_demo_login_lands_on_a_workbench_whose_links_open(client, demo):
    # One test for all logins: loading the demo city takes seconds.
    for username in DEMO_LOGINS:
        client.logout()
        _check_login(client, username)


def _check_login(client, username):
    response = client.post(
        "/admin/login/",
        {"username": username, "password": "Demo@12345", "next": "/admin/"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
        follow=True,
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="workbench"' in body
    assert "工作台" in body  # the admin speaks Chinese
    links = re.findall(r'<li><a href="([^"]+)">', body.split('id="workbench"')[1].split("</div>")[0])
    assert links or username == "city_leader"
    for link in links:
        assert client.get(link.replace("&amp;", "&")).status_code == 200, link


def test_the_demo_leaves_work_for_every_step_of_the_loop(demo):
    from apps.appeals.models import Appeal
    from apps.followups.models import Visit
    from apps.tasks.models import Task

    # A reply for the dispatcher to review, a visit for the visitor to make, a visit made
    # (the appeal closed) and a work order reopened after an unsatisfied visit.
    assert Task.objects.filter(status=Task.Status.REPLIED).exists()
    assert Visit.objects.filter(status=Visit.Status.SCHEDULED).exists()
    assert Appeal.objects.filter(status=Appeal.Status.CLOSED).exists()
    assert Task.objects.filter(reopen_count=1, status=Task.Status.IN_PROGRESS).exists()
