#!/usr/bin/env python
"""Load a city-sized data set into a django-helpdesk 2.6.1 database.

Run with bench/.venv-helpdesk/bin/python (see setup.sh). Creates the database if
missing, migrates it, then loads:

* --queues queues (default 3,000) named like a city's departments, each with the
  auth Permission that Queue.save() would create for it;
* --staff users (default 30,000), all is_staff, each with the UserSettings row that
  helpdesk's post_save signal would create;
* --tickets tickets (default 1,000,000) over 18 months, Chinese titles and
  descriptions, skewed over queues, every one assigned to a staff user, ≈95 %
  resolved/closed (open ones are the recent ones);
* one FollowUp per ticket, the "ticket opened & assigned" entry that helpdesk's
  ticket form writes (skip with --no-followups).

Users, settings, tickets and follow-ups go in with PostgreSQL COPY; the tickets'
and follow-ups' secondary indexes are dropped for the load and rebuilt after, and
the tables are VACUUM ANALYZEd at the end. Reproducible from --seed.

Refuses to load into a database that already holds data, unless --force, which
drops and recreates the database (only if every table in it belongs to this
project's apps).

Progress goes to stderr; a JSON summary (with timings) goes to stdout and to
bench/results/helpdesk-load-<dbname>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hdproject.settings")
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/xlx_helpdesk"

CHUNK = 20_000  # rows per COPY write

# --------------------------------------------------------------------------------------
# Vocabulary for synthetic (but plausible) Chinese content
# --------------------------------------------------------------------------------------
DISTRICTS = [
    "市中区",
    "沙湾区",
    "五通桥区",
    "金口河区",
    "犍为县",
    "井研县",
    "夹江县",
    "沐川县",
    "峨边县",
    "马边县",
    "峨眉山市",
    "高新区",
    "市本级",
]
BUREAUS = [
    "住房和城乡建设局",
    "城市管理局",
    "交通运输局",
    "生态环境局",
    "市场监督管理局",
    "人力资源和社会保障局",
    "教育局",
    "卫生健康委员会",
    "公安局",
    "水务局",
    "自然资源和规划局",
    "民政局",
    "供电公司",
    "燃气公司",
    "自来水公司",
    "医疗保障局",
    "文化广电旅游局",
    "农业农村局",
    "应急管理局",
    "商务局",
    "税务局",
    "退役军人事务局",
    "信访局",
    "街道办事处",
    "综合行政执法局",
]
SECTIONS = [
    "办公室",
    "综合科",
    "执法大队",
    "政策法规科",
    "业务一科",
    "业务二科",
    "监督检查科",
    "服务中心",
    "审批科",
    "投诉处理科",
    "网格中心",
    "督办科",
]
STREETS = [
    "人民路",
    "嘉州大道",
    "凤凰路",
    "新村街",
    "白燕路",
    "春华路",
    "滨江路",
    "肖坝路",
    "柏杨路",
    "长青路",
    "致江路",
    "海棠路",
    "学府路",
    "青江路",
]
COMMUNITIES = [
    "阳光花园",
    "锦江小区",
    "翡翠城",
    "滨江苑",
    "幸福家园",
    "金色港湾",
    "书香名邸",
    "龙湖天街",
    "碧桂园",
    "和平里",
    "紫薇苑",
    "东方明珠",
]
ISSUES = [
    ("噪音扰民", "夜间施工噪音很大，严重影响居民休息，希望相关部门尽快处理。"),
    ("路灯不亮", "小区门口的路灯已经坏了一个多星期，晚上出行很不安全。"),
    ("占道经营", "早晚有摊贩在人行道上占道经营，行人只能走机动车道。"),
    ("停水问题", "今天早上开始停水，没有提前通知，家里老人孩子生活很不方便。"),
    ("垃圾清运不及时", "垃圾桶已经满溢好几天了，气味难闻，蚊蝇很多。"),
    ("违章停车", "消防通道长期被私家车占用，存在很大的安全隐患。"),
    ("物业服务差", "物业公司收费后不作为，电梯经常故障也不及时维修。"),
    ("拖欠工资", "在工地干了三个月，老板一直拖欠工资不发，请求帮助讨薪。"),
    ("油烟污染", "楼下餐馆油烟直排，窗户都不敢打开，请求环保部门检查。"),
    ("道路破损", "路面有一个大坑，下雨后积水看不见，已经有电瓶车摔倒。"),
    ("公交线路调整", "希望增加早高峰班次，现在等车时间太长，经常迟到。"),
    ("医保报销咨询", "咨询异地就医备案和医保报销需要准备哪些材料。"),
    ("学位申请", "孩子今年上小学，户籍在本片区但没有分到学位，请求核实。"),
    ("燃气安全", "楼道里闻到燃气味，担心有泄漏，请尽快派人检查。"),
    ("违建举报", "楼顶有住户私自搭建彩钢棚，影响房屋结构安全。"),
    ("食品安全", "在超市买到过期食品，商家拒绝退换，请求市场监管部门处理。"),
    ("停电问题", "小区频繁停电，冰箱里的东西都坏了，希望供电公司给个说法。"),
    ("宠物扰民", "邻居养的狗整夜叫，沟通多次无果。"),
    ("房屋漏水", "楼上卫生间漏水到我家天花板，物业协调不了。"),
    ("出租车拒载", "晚上在火车站打车被拒载，还要求不打表一口价。"),
]
SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬鹏辉斌宇浩凯健俊帆帅旭宁龙林欢佳阳雪琳晨飞婷倩"
)
RESOLUTIONS = [
    "已联系来电人，问题已现场处理完毕，来电人表示满意。",
    "经核实情况属实，已责令相关单位限期整改。",
    "已转交属地街道办理，并电话回访来电人。",
    "经调查不属于本单位职责范围，已向来电人解释说明。",
    "已协调相关企业解决，后续将持续跟踪。",
]

# Ticket statuses (helpdesk defaults): 1 Open, 2 Reopened, 3 Resolved, 4 Closed, 5 Duplicate


T0 = time.perf_counter()


def log(msg: str) -> None:
    # elapsed time, not wall clock: django.setup() switches the process to TIME_ZONE
    print(f"[load +{time.perf_counter() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def copy_escape(s: str) -> str:
    """Escape a value for COPY text format (our generated text has no tabs/newlines,
    but be safe)."""
    if "\\" in s or "\t" in s or "\n" in s or "\r" in s:
        s = s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return s


def ts(d: datetime) -> str:
    return d.strftime("%Y-%m-%d %H:%M:%S+00")


# --------------------------------------------------------------------------------------
# Database creation / safety
# --------------------------------------------------------------------------------------
def conninfo(url: str, dbname: str | None = None) -> dict:
    import dj_database_url

    cfg = dj_database_url.parse(url)
    info = {
        "dbname": dbname or cfg["NAME"],
        "user": cfg.get("USER") or None,
        "host": cfg.get("HOST") or None,
        "port": cfg.get("PORT") or None,
        "password": cfg.get("PASSWORD") or None,
    }
    return {k: v for k, v in info.items() if v}


def ensure_database(url: str) -> tuple[str, bool]:
    import psycopg
    from psycopg import sql

    name = conninfo(url)["dbname"]
    with psycopg.connect(**conninfo(url, "postgres"), autocommit=True) as c:
        exists = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            c.execute(sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0").format(sql.Identifier(name)))
            log(f"created database {name}")
            return name, True
    return name, False


def drop_and_recreate(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = conninfo(url)["dbname"]
    with psycopg.connect(**conninfo(url, "postgres"), autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(name)))
        c.execute(sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0").format(sql.Identifier(name)))
    log(f"dropped and recreated database {name}")


def existing_state() -> dict:
    """Row counts if helpdesk's tables exist, plus tables foreign to this project."""
    from django.apps import apps
    from django.db import connection

    with connection.cursor() as cur:
        tables = set(connection.introspection.table_names(cur))
    known = {m._meta.db_table for m in apps.get_models(include_auto_created=True)}
    known.add("django_migrations")
    state = {"tables": len(tables), "foreign_tables": sorted(tables - known)}
    if "helpdesk_ticket" in tables:
        with connection.cursor() as cur:
            for t in ("helpdesk_queue", "auth_user", "helpdesk_ticket"):
                cur.execute(f"SELECT count(*) FROM {t}")
                state[t] = cur.fetchone()[0]
    return state


# --------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------
def load_queues(rng: random.Random, n: int) -> list[int]:
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType
    from django.db import transaction
    from helpdesk.models import Queue

    combos = [(d, b, s) for d in DISTRICTS for b in BUREAUS for s in SECTIONS]
    rng.shuffle(combos)
    ct = ContentType.objects.get_for_model(Queue)
    queues, perms = [], []
    for i in range(n):
        d, b, s = combos[i % len(combos)]
        title = f"{d}{b}{s}" + (f"{i // len(combos) + 1}" if i >= len(combos) else "")
        q = Queue(title=title[:100], slug=f"q{i + 1:05d}", email_address=f"q{i + 1:05d}@12345.example.cn")
        basename = q.prepare_permission_name()  # as Queue.save() does
        perms.append(Permission(name=f"Permission for queue: {title}"[:255], content_type=ct, codename=basename))
        queues.append(q)
    with transaction.atomic():
        Permission.objects.bulk_create(perms, batch_size=1000)
        Queue.objects.bulk_create(queues, batch_size=1000)
    return list(Queue.objects.order_by("id").values_list("id", flat=True))


def load_users(cur, rng: random.Random, n: int, joined: datetime) -> None:
    from django.contrib.auth.hashers import make_password

    # One hash for everyone (same password); the fast hasher is set in settings.
    pw = make_password("bench-helpdesk")
    with cur.copy(
        "COPY auth_user (id, password, last_login, is_superuser, username, first_name,"
        " last_name, email, is_staff, is_active, date_joined) FROM STDIN"
    ) as cp:
        buf = []
        for i in range(1, n + 1):
            first = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
            last = rng.choice(SURNAMES)
            when = joined + timedelta(minutes=rng.randrange(0, 60 * 24 * 365 * 3))
            buf.append(
                f"{i}\t{pw}\t\\N\tf\tstaff{i:05d}\t{first}\t{last}\tstaff{i:05d}@12345.example.cn\tt\tt\t{ts(when)}\n"
            )
            if len(buf) >= CHUNK:
                cp.write("".join(buf))
                buf.clear()
        cp.write("".join(buf))
    # UserSettings: what helpdesk's post_save(User) signal creates, with its defaults.
    with cur.copy(
        "COPY helpdesk_usersettings (id, settings_pickled, user_id, email_on_ticket_assign,"
        " email_on_ticket_change, login_view_ticketlist, tickets_per_page,"
        " use_email_as_submitter, ticket_respond_layout) FROM STDIN"
    ) as cp:
        buf = []
        for i in range(1, n + 1):
            buf.append(f"{i}\t\\N\t{i}\tt\tt\tt\t25\tt\ttabs\n")
            if len(buf) >= CHUNK:
                cp.write("".join(buf))
                buf.clear()
        cp.write("".join(buf))


def secondary_indexes(cur, table: str) -> list[tuple[str, str]]:
    cur.execute(
        """SELECT i.relname, pg_get_indexdef(i.oid)
             FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
             JOIN pg_class t ON t.oid = x.indrelid
            WHERE t.relname = %s AND NOT x.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)""",
        [table],
    )
    return cur.fetchall()


class _Null:
    """Stand-in context manager when follow-ups are skipped."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def load_tickets(
    cur, rng: random.Random, queue_ids: list[int], n_staff: int, n: int, followups: bool, end: datetime
) -> dict:
    """COPY n tickets (and their opening follow-up) in created order."""
    span = timedelta(days=548)  # 18 months
    start = end - span
    step = span.total_seconds() / max(n, 1)
    # Skewed queue sizes: lognormal weights (a few big departments, a long tail).
    weights = [rng.lognormvariate(0, 1.0) for _ in queue_ids]
    cum, acc = [], 0.0
    for w in weights:
        acc += w
        cum.append(acc)
    import bisect

    def pick_queue() -> int:
        return queue_ids[bisect.bisect_left(cum, rng.random() * acc)]

    places = [f"{d}{s}{c}" for d in DISTRICTS for s in STREETS for c in COMMUNITIES]
    pri_pool = [1] + [2] * 6 + [3] * 80 + [4] * 10 + [5] * 3
    status_counts = {k: 0 for k in range(1, 6)}
    tcols = (
        "id, title, created, modified, submitter_email, status, on_hold, description,"
        " resolution, priority, due_date, last_escalation, assigned_to_id, queue_id,"
        " secret_key, kbitem_id, merged_to_id"
    )
    fcols = "id, date, title, comment, public, new_status, ticket_id, user_id, message_id, time_spent, email_recipients"
    t0 = time.perf_counter()
    # Follow-ups stream through a second connection at the same time, so nothing
    # is buffered beyond one chunk.
    fconn = fcur = None
    if followups:
        import psycopg

        fconn = psycopg.connect(**conninfo(os.environ["HELPDESK_DATABASE_URL"]), autocommit=True)
        fconn.execute("SET session_replication_role = replica")
        fcur = fconn.cursor()
    with (
        cur.copy(f"COPY helpdesk_ticket ({tcols}) FROM STDIN") as cp,
        fcur.copy(f"COPY helpdesk_followup ({fcols}) FROM STDIN") if followups else _Null() as fp,
    ):
        tbuf: list[str] = []
        fbuf: list[str] = []
        for i in range(1, n + 1):
            created = start + timedelta(seconds=(i - 1 + rng.random()) * step)
            age_days = (end - created).total_seconds() / 86400
            r = rng.random()
            if age_days < 7:
                status = 1 if r < 0.55 else 2 if r < 0.60 else 3 if r < 0.75 else 4
            elif age_days < 30:
                status = 1 if r < 0.08 else 2 if r < 0.10 else 3 if r < 0.20 else 4 if r < 0.995 else 5
            else:
                status = 1 if r < 0.01 else 2 if r < 0.015 else 3 if r < 0.05 else 4 if r < 0.995 else 5
            status_counts[status] += 1
            place = rng.choice(places)
            issue, detail = rng.choice(ISSUES)
            title = f"{place}{issue}"
            phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"
            desc = (
                f"市民{rng.choice(SURNAMES)}先生/女士（{phone}）来电反映：{place}"
                f"{rng.randrange(1, 40)}栋附近{detail}来电时间{created:%Y年%m月%d日%H时%M分}，"
                f"诉求人要求尽快处理并回复。"
            )
            closed = status in (3, 4, 5)
            modified = created + timedelta(minutes=rng.randrange(5, 60 * 24 * (10 if closed else 2)))
            if modified > end:
                modified = end
            resolution = rng.choice(RESOLUTIONS) if closed else "\\N"
            due = created + timedelta(days=rng.choice((1, 3, 5, 7, 15)))
            staff = rng.randrange(1, n_staff + 1)
            secret = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            tbuf.append(
                f"{i}\t{copy_escape(title)}\t{ts(created)}\t{ts(modified)}\t{phone}@citizen.example.cn\t"
                f"{status}\tf\t{copy_escape(desc)}\t{resolution}\t{rng.choice(pri_pool)}\t{ts(due)}\t"
                f"\\N\t{staff}\t{pick_queue()}\t{secret}\t\\N\t\\N\n"
            )
            if followups:
                creator = rng.randrange(1, n_staff + 1)
                fbuf.append(
                    f"{i}\t{ts(created)}\t工单已创建并分配给 staff{staff:05d}\t{copy_escape(desc)}\tt\t\\N\t"
                    f'{i}\t{creator}\t\\N\t\\N\t["{phone}@citizen.example.cn"]\n'
                )
            if len(tbuf) >= CHUNK:
                cp.write("".join(tbuf))
                tbuf.clear()
                if fbuf:
                    fp.write("".join(fbuf))
                    fbuf.clear()
                if i % 100_000 < CHUNK:
                    rate = i / (time.perf_counter() - t0)
                    log(f"  tickets {i:,}/{n:,} ({rate:,.0f}/s)")
        cp.write("".join(tbuf))
        if fbuf:
            fp.write("".join(fbuf))
    if fconn is not None:
        fconn.close()
    t_tickets = time.perf_counter() - t0
    return {"status_counts": status_counts, "tickets_copy_s": round(t_tickets, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", default=os.environ.get("HELPDESK_DATABASE_URL", DEFAULT_URL))
    ap.add_argument("--queues", type=int, default=3_000)
    ap.add_argument("--staff", type=int, default=30_000)
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--no-followups", action="store_true", help="skip the per-ticket opening follow-up")
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--force", action="store_true", help="drop and recreate the database if it already holds data")
    args = ap.parse_args()
    if args.queues < 1 or args.staff < 1 or args.tickets < 0:
        ap.error("--queues and --staff must be >= 1, --tickets >= 0")
    os.environ["HELPDESK_DATABASE_URL"] = args.database_url

    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    dbname, created_db = ensure_database(args.database_url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections

    state = existing_state()
    loaded = any(state.get(t, 0) for t in ("helpdesk_queue", "helpdesk_ticket")) or state.get("auth_user", 0)
    if state["foreign_tables"]:
        log(
            f"database {dbname} has tables that are not this project's: "
            f"{state['foreign_tables'][:10]} -- refusing to touch it"
        )
        return 2
    if loaded:
        if not args.force:
            log(
                f"database {dbname} already loaded ({state.get('helpdesk_queue')} queues, "
                f"{state.get('auth_user')} users, {state.get('helpdesk_ticket')} tickets); "
                f"use --force to drop it and reload"
            )
            return 3
        connections.close_all()
        drop_and_recreate(args.database_url)

    t = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    timings["migrate_s"] = round(time.perf_counter() - t, 1)
    log(f"migrated ({timings['migrate_s']} s)")

    rng = random.Random(args.seed)
    # Tickets end "now" (to the hour), so the open ones are the recent ones.
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)

    t = time.perf_counter()
    queue_ids = load_queues(rng, args.queues)
    timings["queues_s"] = round(time.perf_counter() - t, 1)
    log(f"{len(queue_ids):,} queues ({timings['queues_s']} s)")

    connection.ensure_connection()
    with connection.cursor() as dcur:
        cur = dcur.cursor  # the psycopg cursor, for COPY
        t = time.perf_counter()
        load_users(cur, rng, args.staff, end - timedelta(days=365 * 4))
        cur.execute("SELECT setval(pg_get_serial_sequence('auth_user', 'id'), %s)", [args.staff])
        cur.execute("SELECT setval(pg_get_serial_sequence('helpdesk_usersettings', 'id'), %s)", [args.staff])
        timings["staff_s"] = round(time.perf_counter() - t, 1)
        log(f"{args.staff:,} staff users + settings ({timings['staff_s']} s)")

        t = time.perf_counter()
        dropped = []
        for table in ("helpdesk_ticket", "helpdesk_followup"):
            for name, ddl in secondary_indexes(cur, table):
                cur.execute(f'DROP INDEX "{name}"')
                dropped.append(ddl)
        # Skip FK triggers during the load: the generated keys are consistent by
        # construction (queue ids from the DB, user ids 1..N, ticket ids 1..M).
        cur.execute("SET session_replication_role = replica")
        info = load_tickets(cur, rng, queue_ids, args.staff, args.tickets, not args.no_followups, end)
        cur.execute("SET session_replication_role = DEFAULT")
        timings["tickets_and_followups_copy_s"] = info["tickets_copy_s"]
        log(f"{args.tickets:,} tickets (+ follow-ups) copied ({info['tickets_copy_s']} s)")
        t = time.perf_counter()
        cur.execute("SET maintenance_work_mem = '512MB'")
        for ddl in dropped:
            cur.execute(ddl)
        for table in ("helpdesk_ticket", "helpdesk_followup"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST((SELECT max(id) FROM {table}), 1))"
            )
        timings["indexes_s"] = round(time.perf_counter() - t, 1)
        log(f"{len(dropped)} secondary indexes rebuilt ({timings['indexes_s']} s)")
    connections.close_all()

    import psycopg

    t = time.perf_counter()
    with psycopg.connect(**conninfo(args.database_url), autocommit=True) as c:
        for table in ("auth_user", "helpdesk_usersettings", "helpdesk_queue", "helpdesk_ticket", "helpdesk_followup"):
            c.execute(f"VACUUM (ANALYZE) {table}")
        counts = {
            t_: c.execute(f"SELECT count(*) FROM {t_}").fetchone()[0]
            for t_ in ("helpdesk_queue", "auth_user", "helpdesk_ticket", "helpdesk_followup")
        }
        size = c.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
    timings["vacuum_analyze_s"] = round(time.perf_counter() - t, 1)
    timings["total_s"] = round(time.perf_counter() - t_all, 1)
    log(f"vacuum analyze ({timings['vacuum_analyze_s']} s); total {timings['total_s']} s")

    summary = {
        "database": dbname,
        "created_database": created_db,
        "reloaded": bool(loaded),
        "requested": {
            "queues": args.queues,
            "staff": args.staff,
            "tickets": args.tickets,
            "followups": not args.no_followups,
            "seed": args.seed,
        },
        "counts": counts,
        "ticket_status_counts": {str(k): v for k, v in info["status_counts"].items()},
        "database_size": size,
        "timings_s": timings,
    }
    out = json.dumps(summary, ensure_ascii=False, indent=2)
    print(out)
    results = HERE.parent / "results"
    results.mkdir(exist_ok=True)
    (results / f"helpdesk-load-{dbname}.json").write_text(out + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
