"""Writes to the reference catalogue: categories and dispatch rules (system admins and
dispatchers, and the loading command)."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from apps.appeals import selectors
from apps.appeals.models import Category, DispatchRule
from apps.audit.services import record
from apps.core.exceptions import DomainError
from apps.core.history import set_history_context
from apps.core.validation import require_text
from apps.organization.models import Area, Department


def _place(category: Category) -> None:
    parent = category.parent
    category.path = f"{parent.path if parent else '/'}{category.code}/"
    category.depth = parent.depth + 1 if parent else 0
    category.full_name = f"{parent.full_name} › {category.name}" if parent else category.name


@transaction.atomic
def category_save(
    *,
    actor,
    code: str,
    name: str,
    parent: Category | None,
    is_active: bool = True,
    reason: str,
    instance: Category | None = None,
) -> Category:
    reason = require_text(reason)
    category = instance or Category(code=code)
    if category.pk and parent is not None and (parent.pk == category.pk or parent.path.startswith(category.path)):
        raise DomainError(_("A category cannot be placed under itself."))
    if category.pk and category.children.exists() and category.parent_id != (parent.pk if parent else None):
        raise DomainError(_("Move a category with subcategories by moving its subcategories first."))
    before = (
        {"name": category.name, "parent": category.parent_id, "is_active": category.is_active} if category.pk else {}
    )
    category.name, category.parent, category.is_active = name, parent, is_active
    _place(category)
    category.full_clean()
    set_history_context(category, actor=actor, reason=reason)
    category.save()
    if parent is not None and parent.is_leaf:
        parent.is_leaf = False
        set_history_context(parent, actor=actor, reason=reason)
        parent.save(update_fields=["is_leaf", "updated_at"])
    if before and before.get("name") != name:
        for child in Category.objects.filter(path__startswith=category.path).exclude(pk=category.pk).order_by("depth"):
            _place(child)
            set_history_context(child, actor=actor, reason=reason)
            child.save(update_fields=["full_name", "updated_at"])
    record(
        actor=actor,
        action="category.saved",
        target=category,
        reason=reason,
        changes={"before": before, "after": {"name": name, "parent": category.parent_id, "is_active": is_active}},
    )
    return category


@transaction.atomic
def dispatch_rule_save(
    *,
    actor,
    category: Category,
    area: Area | None,
    lead_department: Department | None,
    route_to_local_street: bool = False,
    co_departments: list[Department] | None = None,
    note: str = "",
    is_active: bool = True,
    reason: str,
    instance: DispatchRule | None = None,
) -> DispatchRule:
    """Create or change a dispatch-catalogue entry (category × area → lead and co-handlers)."""
    reason = require_text(reason)
    if lead_department is None and not route_to_local_street:
        raise DomainError(_("Choose the lead department, or route to the street office of the area."))
    if lead_department is not None and route_to_local_street:
        raise DomainError(_("Choose either a lead department or the local street office, not both."))
    co_departments = [d for d in (co_departments or []) if lead_department is None or d.pk != lead_department.pk]
    rule = instance or DispatchRule()
    clash = DispatchRule.objects.filter(category=category, area=area, is_active=True).exclude(pk=rule.pk)
    if is_active and clash.exists():
        raise DomainError(_("An active rule for this category and area already exists; change that one."))
    before = (
        {"lead": rule.lead_department_id, "street": rule.route_to_local_street, "active": rule.is_active}
        if rule.pk
        else {}
    )
    rule.category, rule.area, rule.lead_department = category, area, lead_department
    rule.route_to_local_street, rule.note, rule.is_active = route_to_local_street, note, is_active
    rule.full_clean(exclude=["co_departments"])
    set_history_context(rule, actor=actor, reason=reason)
    rule.save()
    rule.co_departments.set(co_departments)
    transaction.on_commit(selectors.invalidate_catalogue)
    record(
        actor=actor,
        action="dispatch_rule.saved",
        target=rule,
        reason=reason,
        changes={
            "before": before,
            "after": {
                "category": category.code,
                "area": area.code if area else None,
                "lead": lead_department.code if lead_department else "@street",
                "co": [d.code for d in co_departments],
                "active": is_active,
            },
        },
    )
    return rule
