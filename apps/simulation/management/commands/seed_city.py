"""Generate a synthetic city at scale: departments, staff, appeals, work orders, history,
action log and grants (issue 4). See docs/performance.md, "Generating a city"."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.simulation.generator import Options, RefusedError, seed_city


def _positive(value: str) -> int:
    number = int(value.replace(",", "").replace("_", ""))
    if number < 0:
        raise ValueError
    return number


class Command(BaseCommand):
    help = ("Generate a synthetic city on the current database: departments in the real tree shape, staff in "
            "every role, and N appeals over the last months with their work orders in every state, history "
            "rows, action-log entries (hash chain continued) and permission grants. Reproducible from --seed. "
            "Refuses a database with more than a handful of appeals unless --append is given.")

    def add_arguments(self, parser):
        defaults = Options()
        parser.add_argument("--appeals", type=_positive, default=defaults.appeals, help="appeals to make (1,000,000)")
        parser.add_argument("--departments", type=_positive, default=defaults.departments,
                            help="departments in the city (3,000); ignored when the generated city exists")
        parser.add_argument("--staff", type=_positive, default=defaults.staff,
                            help="staff accounts (30,000); ignored when the generated city exists")
        parser.add_argument("--months", type=_positive, default=defaults.months,
                            help="the appeals spread over this many months up to --until (18)")
        parser.add_argument("--seed", type=int, default=defaults.seed, help="random seed (42)")
        parser.add_argument("--batch", type=_positive, default=defaults.batch,
                            help="appeals per transaction and insert batch (20,000)")
        parser.add_argument("--until", default=None,
                            help="end of the period, ISO 8601 (default: now); fix it to reproduce a run exactly")
        parser.add_argument("--append", action="store_true",
                            help="add appeals to a database that already holds some (the generated city is reused)")
        parser.add_argument("--keep-indexes", action="store_true",
                            help="maintain indexes and foreign-key checks row by row even on a first large load "
                                 "(slower; see docs/performance.md)")

    def handle(self, *args, **opts):
        until = None
        if opts["until"]:
            until = parse_datetime(opts["until"]) or (
                dt.datetime.fromisoformat(opts["until"]) if len(opts["until"]) == 10 else None)
            if until is None:
                raise CommandError(f"--until: not an ISO date or datetime: {opts['until']}")
            if timezone.is_naive(until):
                until = timezone.make_aware(until)
            if until > timezone.now():
                raise CommandError("--until must not be in the future.")
        if opts["batch"] < 1 or opts["months"] < 1:
            raise CommandError("--batch and --months must be at least 1.")
        options = Options(appeals=opts["appeals"], departments=opts["departments"], staff=opts["staff"],
                          months=opts["months"], seed=opts["seed"], batch=opts["batch"], until=until,
                          append=opts["append"], keep_indexes=opts["keep_indexes"])
        verbose = opts["verbosity"] > 0
        try:
            report = seed_city(options, out=self.stdout if verbose else None)
        except (RefusedError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        phases = report.phases
        if not verbose:
            return
        total_rows = sum(p.total_rows for p in phases)
        total_seconds = sum(p.seconds for p in phases)
        self.stdout.write("")
        self.stdout.write(f"{'phase':<10} {'seconds':>9} {'rows':>12} {'rows/s':>10}")
        for phase in phases:
            self.stdout.write(f"{phase.name:<10} {phase.seconds:>9.1f} {phase.total_rows:>12,} "
                              f"{phase.total_rows / max(phase.seconds, 1e-9):>10,.0f}")
        self.stdout.write(f"{'total':<10} {total_seconds:>9.1f} {total_rows:>12,} "
                          f"{total_rows / max(total_seconds, 1e-9):>10,.0f}")
        self.stdout.write("")
        self.stdout.write(f"{'table':<36} {'rows':>12} {'COPY s':>8} {'rows/s':>10}")
        for table, rows in sorted(report.written.items(), key=lambda item: -item[1]):
            seconds = report.copy_seconds.get(table, 0.0)
            rate = f"{rows / seconds:>10,.0f}" if seconds else f"{'':>10}"
            self.stdout.write(f"{table:<36} {rows:>12,} {seconds:>8.1f} {rate}")
        self.stdout.write(self.style.SUCCESS(f"City generated in {total_seconds:,.0f}s."))
