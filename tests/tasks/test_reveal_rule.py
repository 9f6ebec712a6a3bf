"""Who may see a citizen's full contact details is decided in one place
(tasks.permissions.contact_reveal_refusal): the button shows exactly when the service
would allow it, for every role and kind of appeal."""

import pytest
from django.urls import reverse

from apps.core.exceptions import NotPermitted
from apps.tasks import permissions, services
from tests.factories import make_appeal


@pytest.fixture
def cases(org, catalog, operator, dispatcher):
    def dispatched(**kwargs):
        appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"], **kwargs)
        return services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["housing"], override_reason="测试")

    return {
        "ordinary": dispatched(),
        "confidential": dispatched(is_confidential=True),
        "anonymous": dispatched(is_anonymous=True, phone="", citizen_name=""),
    }


@pytest.mark.parametrize("role", ["operator", "dispatcher", "dept_staff", "dept_leader", "outsider", "inspector"])
def test_the_button_shows_exactly_when_the_service_allows(request, client, cases, role):
    user = request.getfixturevalue(role)
    for kind, task in cases.items():
        appeal = task.appeal
        try:
            services.appeal_reveal_contact(actor=user, appeal=appeal, reason="核实")
            allowed = True
        except NotPermitted:
            allowed = False
        assert permissions.can_reveal_contact(user, appeal) is allowed, (role, kind)
        client.force_login(user)
        url = reverse("admin:tasks_task_reveal", args=[task.pk])
        page = client.get(reverse("admin:tasks_task_change", args=[task.pk]))
        if page.status_code == 200:
            assert (url in page.content.decode()) is allowed, (role, kind)


def test_departments_never_see_a_confidential_or_anonymous_citizen(cases, dept_staff):
    for kind in ("confidential", "anonymous"):
        with pytest.raises(NotPermitted, match="confidential|anonymous"):
            services.appeal_reveal_contact(actor=dept_staff, appeal=cases[kind].appeal, reason="核实")
    assert services.appeal_reveal_contact(actor=dept_staff, appeal=cases["ordinary"].appeal, reason="核实")["phone"]
