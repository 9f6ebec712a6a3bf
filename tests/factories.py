"""Test data built through the services, so it has groups, paths and history like real data."""

from __future__ import annotations

import itertools

from apps.organization import services
from apps.organization.models import Area, Department, User

TEST_PASSWORD = "Test@2026pass"
_seq = itertools.count(1)


def build_org() -> dict:
    actor = services.system_actor()
    city = services.area_create(actor=actor, code="C01", name="测试市", kind="city", parent=None, reason="test")
    district = services.area_create(actor=actor, code="D01", name="市中区", kind="district", parent=city, reason="test")
    street = services.area_create(
        actor=actor, code="S01", name="张公桥街道", kind="street", parent=district, reason="test"
    )

    def dept(code, name, kind, parent=None, area=city):
        return services.department_create(
            actor=actor, code=code, name=name, kind=kind, parent=parent, area=area, reason="test"
        )

    gov = dept("GOV", "测试市人民政府", "city_government")
    return {
        "actor": actor,
        "city": city,
        "district": district,
        "street": street,
        "gov": gov,
        "centre": dept("CENTRE", "12345心连心服务中心", "service_centre", gov),
        "supervision": dept("SUP", "市政府督查室", "supervision", gov),
        "housing": dept("HOUSING", "市住房和城乡建设局", "bureau", gov),
        "market": dept("MARKET", "市市场监督管理局", "bureau", gov),
        "district_gov": dept("DGOV", "市中区人民政府", "district_government", gov, district),
    }


def make_user(*, role: str, department: Department, username: str | None = None, password: str = TEST_PASSWORD) -> User:
    n = next(_seq)
    return services.staff_create(
        actor=services.system_actor(),
        username=username or f"{role}{n}",
        name=f"测试{role}{n}",
        department=department,
        role=role,
        password=password,
        reason="test",
    )


def make_department(*, code: str, parent: Department | None, area: Area, kind: str = "bureau") -> Department:
    return services.department_create(
        actor=services.system_actor(), code=code, name=f"部门{code}", kind=kind, parent=parent, area=area, reason="test"
    )


def build_catalog(org: dict) -> dict:
    """A three-level category branch and a city-wide rule pointing at the market bureau."""
    from apps.appeals import catalog

    actor = services.system_actor()
    top = catalog.category_save(actor=actor, code="01", name="城市管理", parent=None, reason="test")
    mid = catalog.category_save(actor=actor, code="0101", name="市容环境", parent=top, reason="test")
    leaf = catalog.category_save(actor=actor, code="010101", name="占道经营", parent=mid, reason="test")
    other = catalog.category_save(actor=actor, code="010102", name="违规广告", parent=mid, reason="test")
    rule = catalog.dispatch_rule_save(
        actor=actor, category=leaf, area=None, lead_department=org["market"], reason="test"
    )
    return {"top": top, "mid": mid, "leaf": leaf, "other": other, "rule": rule}


def make_appeal(*, operator, category, area, priority="P2", phone="13812341234", **kwargs):
    from apps.appeals.services import appeal_register

    return appeal_register(
        actor=operator,
        channel=kwargs.pop("channel", "phone"),
        appeal_type=kwargs.pop("appeal_type", "complaint"),
        category=category,
        area=area,
        content=kwargs.pop("content", "小区门口有人长期占道经营，影响通行。"),
        citizen_name=kwargs.pop("citizen_name", "张三"),
        citizen_phone=phone,
        priority=priority,
        **kwargs,
    )
