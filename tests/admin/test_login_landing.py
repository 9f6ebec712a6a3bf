"""After logging in, each role lands on its main page: the return-visit agent on the
return-visit queue (README), everyone else on the workbench. A safe ?next= wins."""

from django.urls import reverse

from tests.factories import TEST_PASSWORD


def _login(client, user, **extra):
    return client.post(reverse("admin:login"), {"username": user.username, "password": TEST_PASSWORD, **extra})


def test_without_next_the_visit_agent_lands_on_the_return_visit_queue_and_the_others_on_the_workbench(
    client, users_by_role
):
    for role, user in users_by_role.items():
        client.logout()
        response = _login(client, user)
        expected = (
            reverse("admin:followups_visit_changelist") if role == "visit_agent" else reverse("admin:index")
        )
        assert response.status_code == 302, role
        assert response.url == expected, role
        assert client.get(response.url).status_code == 200, role


def test_opening_the_back_office_leads_the_visit_agent_through_the_login_to_the_queue(client, visit_agent):
    # README: open http://127.0.0.1:8000/admin/ and sign in.
    to_login = client.get(reverse("admin:index"))
    assert to_login.status_code == 302 and to_login.url == reverse("admin:login")
    form = client.get(to_login.url)
    assert form.status_code == 200
    assert 'name="next" value=""' in form.content.decode()  # the form asks for no page
    response = _login(client, visit_agent, next="")
    assert response.url == reverse("admin:followups_visit_changelist")


def test_pages_other_than_the_workbench_still_send_anonymous_visitors_to_the_login_with_next(client):
    response = client.get(reverse("admin:tasks_task_changelist"))
    assert response.status_code == 302
    assert response.url == f"{reverse('admin:login')}?next={reverse('admin:tasks_task_changelist')}"


def test_a_safe_next_wins_over_the_landing_page(client, visit_agent, dispatcher):
    tasks = reverse("admin:tasks_task_changelist")
    assert _login(client, visit_agent, next=tasks).url == tasks
    client.logout()
    # Asking for the workbench itself is honoured too.
    assert _login(client, visit_agent, next=reverse("admin:index")).url == reverse("admin:index")
    client.logout()
    assert _login(client, dispatcher, next=tasks).url == tasks


def test_an_unsafe_next_is_ignored_and_the_role_lands_on_its_page(client, visit_agent, operator):
    assert _login(client, visit_agent, next="https://evil.example/").url == reverse("admin:followups_visit_changelist")
    client.logout()
    assert _login(client, operator, next="https://evil.example/").url == reverse("admin:index")


def test_a_signed_in_visit_agent_opening_the_login_page_goes_to_the_queue(client, visit_agent, operator):
    client.force_login(visit_agent)
    assert client.get(reverse("admin:login")).url == reverse("admin:followups_visit_changelist")
    client.force_login(operator)
    assert client.get(reverse("admin:login")).url == reverse("admin:index")


def test_a_failed_login_lands_nowhere(client, visit_agent):
    response = client.post(reverse("admin:login"), {"username": visit_agent.username, "password": "wrong"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
