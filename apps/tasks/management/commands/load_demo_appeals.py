"""A few dozen demo appeals in every state, made through the services (so they carry
history and action-log entries), for the demo logins to find work waiting. Runs once."""

import random

from django.core.management.base import BaseCommand
from django.db import transaction

from apps.appeals import services as intake
from apps.appeals.models import Appeal, Category
from apps.appeals.selectors import dispatch_suggestion
from apps.followups import services as followups
from apps.followups.models import Visit
from apps.organization.models import Area, User
from apps.tasks import services

CONTENTS = [
    "小区门口夜间占道烧烤，油烟和噪音扰民，希望有关部门处理。",
    "家中停水已经一天，没有收到任何通知，询问何时恢复供水。",
    "公司拖欠三个月工资，多次讨要未果，请求帮助。",
    "路灯损坏一周无人维修，夜间出行不安全。",
    "咨询新生儿医保办理需要哪些材料。",
    "小区物业擅自提高物业费，业主不认可。",
    "建筑工地夜间施工噪音很大，影响休息。",
    "超市销售过期食品，要求查处。",
]


class Command(BaseCommand):
    help = "Create demo appeals and work orders in every state (only if none exist)."

    def handle(self, *args, **options):
        if Appeal.objects.exists():
            self.stdout.write("Demo appeals already present.")
            return
        rng = random.Random(12345)
        users = {
            u.username: u
            for u in User.objects.filter(
                username__in=["operator", "dispatcher", "dept_staff", "dept_leader", "city_leader", "visitor"]
            )
        }
        operator, dispatcher, staff = users["operator"], users["dispatcher"], users["dept_staff"]
        replied = []
        leaves = list(Category.objects.filter(is_leaf=True, is_active=True))
        streets = list(Area.objects.filter(kind__in=[Area.Kind.STREET, Area.Kind.COMMUNITY]))
        housing = staff.department
        housing_leaves = [c for c in leaves if c.dispatch_rules.filter(lead_department=housing).exists()] or leaves
        made = 0
        with transaction.atomic():
            for i in range(24):
                to_housing = i % 2 == 0
                category = rng.choice(housing_leaves if to_housing else leaves)
                appeal = intake.appeal_register(
                    actor=operator,
                    channel=rng.choice(Appeal.Channel.values),
                    appeal_type=rng.choice(["complaint", "help", "consultation", "report"]),
                    category=category,
                    area=rng.choice(streets),
                    content=rng.choice(CONTENTS),
                    citizen_name=rng.choice(["张伟", "王芳", "李娜", "刘洋", "陈静"]),
                    citizen_phone=f"13{rng.randint(100000000, 999999999)}",
                    priority="P1" if i % 7 == 0 else "P2",
                )
                made += 1
                if i % 6 == 5:
                    continue  # left for the dispatcher: "to dispatch"
                if i % 6 == 4 and not to_housing:
                    followups.appeal_answer_and_sample(actor=operator, appeal=appeal, answer="已按政策库答复市民。")
                    continue
                suggestion = dispatch_suggestion(category=category, area=appeal.area)
                lead = housing if to_housing else suggestion.lead
                if lead is None:
                    continue
                reason = "" if suggestion.lead == lead and not suggestion.co else "演示数据：指定承办部门"
                task = services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=lead, override_reason=reason)
                if not to_housing or i % 4 == 0:
                    continue  # pending sign-for
                task = services.task_sign(actor=staff, task=task)
                if i % 12 == 2:
                    continue  # in progress, not yet contacted
                task = services.task_record_contact(
                    actor=staff, task=task, contacted_at=None, method="phone", note="已电话联系诉求人，说明办理安排。"
                )
                task = services.task_reply(
                    actor=staff, task=task, result="resolved", reply_text="经现场核查，问题已处理完毕，并已告知诉求人。"
                )
                replied.append(task)
            visits = self._visits(replied, dispatcher=dispatcher, agent=users.get("visitor"))
            waiting = self._extension(users)
        self.stdout.write(self.style.SUCCESS(
            f"Demo appeals: {made}; return visits: {visits}; extension requests waiting for the leader: {waiting}."
        ))

    def _extension(self, users) -> int:
        """The city leader delegates extension decisions for 市住建局 to its leader (up to 5
        working days), and the department asks for one: it waits in dept_leader's queue."""
        import datetime as dt

        from django.utils import timezone

        from apps.authorization import services as authz
        from apps.tasks.models import Task

        leader, city_leader, staff = users.get("dept_leader"), users.get("city_leader"), users["dept_staff"]
        if leader is None or city_leader is None:
            return 0
        authz.delegation_grant(
            actor=city_leader, grantee=leader, kind="extension", scope=staff.department, max_extension_days=5,
            valid_until=timezone.now() + dt.timedelta(days=365), reason="演示数据：住建系统延期审批授权",
        )
        task = (
            Task.objects.filter(department=staff.department, status=Task.Status.IN_PROGRESS, reopen_count=0)
            .order_by("id").first()
        )
        if task is None:
            return 0
        authz.approval_request(
            actor=staff, kind="extension", task=task, extension_days=3, reason="演示数据：需协调产权单位现场勘验"
        )
        return 1

    def _visits(self, replied, *, dispatcher, agent) -> int:
        """Accept some replies (each schedules a return visit, 回访), and let the visitor
        record two: one satisfied (the appeal closes), one unsatisfied for a reason within
        the department's control (the work order is reopened, 重办). The rest wait in the
        visitor's queue; the remaining replies wait for the dispatcher's review."""
        # One reply stays for the dispatcher to review.
        accepted = [followups.task_review_and_schedule(actor=dispatcher, task=t, accept=True) for t in replied[:3]]
        if agent is None or len(accepted) < 2:
            return len(accepted)
        outcomes = [
            dict(resolved=True, satisfaction="satisfied", citizen_words="问题已经解决了，谢谢。"),
            dict(
                resolved=False,
                satisfaction="unsatisfied",
                citizen_words="处理后又出现了，没有根本解决。",
                fault="department",
                fault_note="承办单位未落实长效管理措施",
            ),
        ]
        for task, outcome in zip(accepted, outcomes, strict=False):
            visit = followups.visit_start_call(actor=agent, visit=Visit.objects.get(task=task, round=1))
            followups.visit_record_outcome(actor=agent, visit=visit, **outcome)
        return len(accepted)
