"""Rule adaptations (变通): they apply only within their period, category subtree and area
subtree; they raise and shorten, never lower or lengthen; city leaders only; recorded."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.authorization import adaptations
from apps.authorization.models import RuleAdaptation
from apps.core.exceptions import DomainError, InvalidTransition, NotPermitted
from apps.organization import services as org_services
from apps.tasks.models import LimitUnit

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI)  # a Monday
RAISE, SHORTEN = RuleAdaptation.Kind.RAISE_PRIORITY, RuleAdaptation.Kind.SHORTEN_LIMIT


@pytest.fixture
def now(time_machine, holidays_2026):
    time_machine.move_to(T0, tick=False)
    return T0


@pytest.fixture
def other_district(org):
    actor = org_services.system_actor()
    return org_services.area_create(
        actor=actor, code="D02", name="五通桥区", kind="district", parent=org["city"], reason="test"
    )


def _raise(city_leader, catalog, area, priority="P1", **kwargs):
    kwargs.setdefault("reason", "近一周占道经营投诉激增")
    return adaptations.rule_adaptation_issue(
        actor=city_leader,
        kind=RAISE,
        category=kwargs.pop("category", catalog["mid"]),
        area=area,
        priority=priority,
        **kwargs,
    )


def _shorten(city_leader, catalog, area, amount, unit, **kwargs):
    kwargs.setdefault("reason", "汛期排水类诉求限时办结")
    return adaptations.rule_adaptation_issue(
        actor=city_leader,
        kind=SHORTEN,
        category=kwargs.pop("category", catalog["mid"]),
        area=area,
        resolve_amount=amount,
        resolve_unit=unit,
        **kwargs,
    )


# --- Acceptance: "adaptation applies only within its period and area" ------------------------


def test_a_priority_adaptation_applies_only_within_its_period(org, catalog, city_leader, now):
    start = T0 + dt.timedelta(days=1)
    adaptation = _raise(city_leader, catalog, org["district"], valid_from=start)
    assert adaptation.valid_until == start + dt.timedelta(days=30)  # the default period
    leaf, street = catalog["leaf"], org["street"]

    def priority_at(when):
        return adaptations.adapted_priority(category=leaf, area=street, priority="P2", at=when)

    assert priority_at(T0) == ("P2", None)  # issued, not yet in force
    assert priority_at(start - dt.timedelta(seconds=1)) == ("P2", None)
    assert priority_at(start) == ("P1", adaptation)
    assert priority_at(adaptation.valid_until - dt.timedelta(seconds=1)) == ("P1", adaptation)
    assert priority_at(adaptation.valid_until) == ("P2", None)  # expires by itself


def test_a_priority_adaptation_applies_only_within_its_area_and_category(
    org, catalog, city_leader, now, other_district
):
    from apps.appeals import catalog as catalog_services

    adaptation = _raise(city_leader, catalog, org["district"])  # 市容环境 in 市中区
    other_top = catalog_services.category_save(
        actor=org["actor"], code="02", name="交通出行", parent=None, reason="test"
    )
    other_leaf = catalog_services.category_save(
        actor=org["actor"], code="0201", name="公交", parent=other_top, reason="test"
    )
    at = T0 + dt.timedelta(hours=1)
    cases = [
        (catalog["leaf"], org["street"], "P1"),  # subcategory, sub-area
        (catalog["other"], org["district"], "P1"),  # another subcategory, the area itself
        (catalog["mid"], org["district"], "P1"),  # the category itself
        (catalog["top"], org["district"], "P2"),  # a parent category is not covered
        (other_leaf, org["street"], "P2"),  # another branch
        (catalog["leaf"], org["city"], "P2"),  # the parent area is not covered
        (catalog["leaf"], other_district, "P2"),  # another district
    ]
    for category, area, expected in cases:
        priority, found = adaptations.adapted_priority(category=category, area=area, priority="P2", at=at)
        assert priority == expected, (category.code, area.code)
        assert found == (adaptation if expected == "P1" else None)


def test_adaptations_only_raise_the_highest_live_one_wins_and_revoked_ones_stop(
    org, catalog, city_leader, now, time_machine
):
    city_wide = _raise(city_leader, catalog, None, priority="P1", category=catalog["top"])
    district = _raise(city_leader, catalog, org["district"], priority="P0")
    leaf, street = catalog["leaf"], org["street"]
    at = T0 + dt.timedelta(hours=1)
    assert adaptations.adapted_priority(category=leaf, area=street, priority="P3", at=at) == ("P0", district)
    assert adaptations.adapted_priority(category=leaf, area=street, priority="P0", at=at) == ("P0", None)
    assert adaptations.adapted_priority(category=leaf, area=org["city"], priority="P2", at=at) == ("P1", city_wide)
    assert adaptations.adapted_priority(category=leaf, area=org["city"], priority="P1", at=at) == ("P1", None)

    time_machine.move_to(T0 + dt.timedelta(days=2), tick=False)
    adaptations.rule_adaptation_revoke(actor=city_leader, adaptation=district, reason="险情已解除")
    later = T0 + dt.timedelta(days=2, hours=1)
    assert adaptations.adapted_priority(category=leaf, area=street, priority="P3", at=later) == ("P1", city_wide)
    # Before the revocation it was in force: the question is always "at" an instant.
    assert adaptations.adapted_priority(category=leaf, area=street, priority="P3", at=at) == ("P1", city_wide)


def test_the_shortest_live_limit_applies_within_period_and_area(org, catalog, city_leader, now, other_district):
    three_days = _shorten(city_leader, catalog, None, 3, LimitUnit.CALENDAR_DAYS)
    one_day = _shorten(
        city_leader, catalog, org["district"], 24, LimitUnit.HOURS, valid_until=T0 + dt.timedelta(days=10)
    )
    leaf = catalog["leaf"]
    at = T0 + dt.timedelta(hours=1)
    assert adaptations.adapted_resolve_limit(category=leaf, area=org["street"], at=at) == (24, "hours", one_day)
    assert adaptations.adapted_resolve_limit(category=leaf, area=other_district, at=at) == (
        3,
        "calendar_days",
        three_days,
    )
    after = T0 + dt.timedelta(days=10)
    assert adaptations.adapted_resolve_limit(category=leaf, area=org["street"], at=after) == (
        3,
        "calendar_days",
        three_days,
    )
    assert adaptations.adapted_resolve_limit(category=catalog["top"], area=org["street"], at=at) is None
    assert adaptations.adapted_resolve_limit(category=leaf, area=org["street"], at=T0 + dt.timedelta(days=31)) is None
    assert adaptations.adapted_resolve_limit(category=leaf, area=org["street"], at=T0 - dt.timedelta(seconds=1)) is None


# --- Validation and who may ------------------------------------------------------------------


def test_what_each_kind_needs(org, catalog, city_leader, now):
    with pytest.raises(DomainError):
        _raise(city_leader, catalog, None, priority="")
    with pytest.raises(DomainError):  # the lowest priority raises nothing
        _raise(city_leader, catalog, None, priority="P3")
    with pytest.raises(DomainError):
        _shorten(city_leader, catalog, None, None, "")
    with pytest.raises(DomainError):
        _shorten(city_leader, catalog, None, 0, LimitUnit.HOURS)
    # Must be shorter than the longest limit in force for the category (P3: 15 calendar days).
    for amount, unit in [(15, LimitUnit.CALENDAR_DAYS), (20, LimitUnit.CALENDAR_DAYS), (12, LimitUnit.WORKING_DAYS)]:
        with pytest.raises(DomainError):
            _shorten(city_leader, catalog, None, amount, unit)
    assert _shorten(city_leader, catalog, None, 10, LimitUnit.WORKING_DAYS).resolve_amount == 10  # 14 days
    with pytest.raises(DomainError):
        _raise(city_leader, catalog, None, reason=" ")
    assert RuleAdaptation.objects.count() == 1


def test_the_period_is_at_most_90_days_and_never_retroactive(org, catalog, city_leader, now):
    with pytest.raises(DomainError):
        _raise(city_leader, catalog, None, valid_until=T0 + dt.timedelta(days=90, seconds=1))
    with pytest.raises(DomainError):
        _raise(city_leader, catalog, None, valid_from=T0 + dt.timedelta(days=2), valid_until=T0 + dt.timedelta(days=1))
    longest = _raise(city_leader, catalog, None, valid_until=T0 + dt.timedelta(days=90))
    assert longest.valid_from == T0
    backdated = _raise(city_leader, catalog, None, valid_from=T0 - dt.timedelta(days=5))
    assert backdated.valid_from == T0  # a start in the past means now
    assert backdated.valid_until == T0 + dt.timedelta(days=30)


def test_only_city_leaders_adapt_and_revoke(org, catalog, city_leader, dept_leader, dispatcher, inspector, now):
    for actor in (dept_leader, dispatcher, inspector):
        with pytest.raises(NotPermitted):
            _raise(actor, catalog, None)
    adaptation = _raise(city_leader, catalog, None)
    for actor in (dept_leader, dispatcher, inspector):
        with pytest.raises(NotPermitted):
            adaptations.rule_adaptation_revoke(actor=actor, adaptation=adaptation, reason="x")
    adaptation.refresh_from_db()
    assert adaptation.revoked_at is None


def test_issue_and_revoke_are_recorded_with_user_and_reason(org, catalog, city_leader, now, time_machine):
    adaptation = _raise(city_leader, catalog, org["district"], reason="占道经营投诉一周内翻倍")
    with pytest.raises(DomainError):
        adaptations.rule_adaptation_revoke(actor=city_leader, adaptation=adaptation, reason="")
    time_machine.move_to(T0 + dt.timedelta(days=3), tick=False)
    adaptations.rule_adaptation_revoke(actor=city_leader, adaptation=adaptation, reason="专项整治结束")
    with pytest.raises(InvalidTransition):
        adaptations.rule_adaptation_revoke(actor=city_leader, adaptation=adaptation, reason="再次")
    rows = list(adaptation.history.order_by("history_date", "history_id"))
    assert [(r.history_user, r.history_change_reason, r.revoked_at) for r in rows] == [
        (city_leader, "占道经营投诉一周内翻倍", None),
        (city_leader, "专项整治结束", T0 + dt.timedelta(days=3)),
    ]
    events = list(AuditEvent.objects.filter(target_type="authorization.ruleadaptation").order_by("seq"))
    assert [(e.action, e.actor, e.reason) for e in events] == [
        ("rule_adaptation.issued", city_leader, "占道经营投诉一周内翻倍"),
        ("rule_adaptation.revoked", city_leader, "专项整治结束"),
    ]
    assert events[0].changes["area"] == "D01" and events[0].changes["priority"] == "P1"


def test_an_expired_adaptation_cannot_be_revoked(org, catalog, city_leader, now, time_machine):
    adaptation = _raise(city_leader, catalog, None, valid_until=T0 + dt.timedelta(days=1))
    time_machine.move_to(T0 + dt.timedelta(days=1), tick=False)
    with pytest.raises(InvalidTransition):
        adaptations.rule_adaptation_revoke(actor=city_leader, adaptation=adaptation, reason="x")


# --- Admin pages -----------------------------------------------------------------------------


def test_adaptation_pages_by_role(client, org, catalog, users_by_role, now):
    adaptation = _raise(users_by_role["city_leader"], catalog, org["district"])
    changelist = reverse("admin:authorization_ruleadaptation_changelist")
    change = reverse("admin:authorization_ruleadaptation_change", args=[adaptation.pk])
    readers = {"city_leader", "inspector", "dispatcher", "operator"}  # operators see them at intake
    for role, user in users_by_role.items():
        client.force_login(user)
        expected = 200 if role in readers else 403
        assert client.get(changelist, {"q": "市"}).status_code == expected, role
        # A page of an object one may not see answers like a missing one (issue 12).
        assert client.get(change).status_code == (200 if role in readers else 404), role
    client.force_login(users_by_role["inspector"])
    assert client.get(reverse("admin:authorization_ruleadaptation_add")).status_code == 403
    assert (
        client.post(
            reverse("admin:authorization_ruleadaptation_revoke", args=[adaptation.pk]), {"version": 0, "reason": "x"}
        ).status_code
        == 403
    )
    adaptation.refresh_from_db()
    assert adaptation.revoked_at is None


def test_a_city_leader_adapts_and_revokes_through_the_admin(client, org, catalog, city_leader, now):
    client.force_login(city_leader)
    add = reverse("admin:authorization_ruleadaptation_add")
    assert client.get(add).status_code == 200
    form = {
        "kind": "shorten_limit",
        "category": catalog["mid"].pk,
        "area": org["district"].pk,
        "priority": "",
        "resolve_amount": "48",
        "resolve_unit": "hours",
        "valid_from_0": "2026-06-01",
        "valid_from_1": "10:00:00",
        "valid_until_0": "",
        "valid_until_1": "",
        "change_reason": "汛期",
    }
    refused = client.post(add, {**form, "resolve_amount": "30", "resolve_unit": "calendar_days"})
    assert refused.status_code == 200 and refused.context["adminform"].form.non_field_errors()
    assert not RuleAdaptation.objects.exists()
    response = client.post(add, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    adaptation = RuleAdaptation.objects.get()
    assert (adaptation.resolve_amount, adaptation.reason, adaptation.issued_by) == (48, "汛期", city_leader)
    assert adaptation.valid_until == T0 + dt.timedelta(days=30)
    page = client.get(reverse("admin:authorization_ruleadaptation_change", args=[adaptation.pk]))
    revoke = reverse("admin:authorization_ruleadaptation_revoke", args=[adaptation.pk])
    assert revoke in page.content.decode()
    assert client.post(revoke, {"version": 0, "reason": "汛期结束"}).status_code == 302
    adaptation.refresh_from_db()
    assert adaptation.revoked_at == T0
    assert (
        revoke
        not in client.get(reverse("admin:authorization_ruleadaptation_change", args=[adaptation.pk])).content.decode()
    )
    listed = client.get(reverse("admin:authorization_ruleadaptation_changelist"), {"state": "revoked"})
    assert [a.pk for a in listed.context["cl"].result_list] == [adaptation.pk]
