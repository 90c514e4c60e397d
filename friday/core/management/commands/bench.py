"""`friday bench`: generate a large dataset and measure the app over HTTP. The code lives in the repo's bench/."""

from __future__ import annotations

import argparse
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Benchmark Friday: `bench generate` builds a large dataset, `bench run` measures it over HTTP, `bench processes` measures the process analytics and the deal board, `bench dedupe` the duplicate scan and a merge."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(
            dest="action",
            required=True,
            metavar="{generate,run,processes,jobs,billing,insights,automation,clv,dedupe,import,strategy}",
        )
        generate = actions.add_parser(
            "generate", help="Bulk-load a realistic dataset (refuses if one exists)"
        )
        generate.add_argument("--parties", type=int, default=100_000)
        generate.add_argument("--activities", type=int, default=1_000_000, help="Timeline entries in all")
        generate.add_argument("--batch", type=int, default=5_000, help="Parties per transaction")
        generate.add_argument("--seed", type=int, default=1)
        generate.add_argument("--force", action="store_true", help="Delete earlier bench data first")
        run = actions.add_parser("run", help="Start `friday serve` and measure the party endpoints")
        run.add_argument("--requests", type=int, default=200, help="Timed requests per endpoint")
        run.add_argument("--port", type=int, default=None, help="Default: a free port")
        run.add_argument("--seed", type=int, default=1)
        run.add_argument("--no-save", action="store_true", help="Do not write JSON to bench/results/")
        proc = actions.add_parser("processes", help="Process analytics and the deal board over a big history")
        proc.add_argument("--generate", action="store_true", help="Generate the deals and their moves first")
        proc.add_argument(
            "--changes", type=int, default=1_000_000, help="Stage changes to generate (about 2.5 per deal)"
        )
        proc.add_argument("--batch", type=int, default=5_000, help="Deals per transaction")
        proc.add_argument("--runs", type=int, default=10, help="Timed runs per measure")
        proc.add_argument("--seed", type=int, default=1)
        proc.add_argument("--force", action="store_true", help="Delete earlier bench deals first")
        jobs = actions.add_parser("jobs", help="Jobs with costs and service plans: pages, segment, sweeps")
        jobs.add_argument("--generate", action="store_true", help="Generate the jobs first")
        jobs.add_argument("--jobs", type=int, default=50_000, help="Jobs to generate")
        jobs.add_argument("--batch", type=int, default=5_000, help="Jobs per transaction")
        jobs.add_argument("--runs", type=int, default=10, help="Timed runs per measure")
        jobs.add_argument("--seed", type=int, default=1)
        jobs.add_argument("--force", action="store_true", help="Delete earlier bench jobs first")
        auto = actions.add_parser(
            "automation", help="The starter rules' sweep and forecast; the outbox drain"
        )
        auto.add_argument("--runs", type=int, default=3, help="Timed runs of the sweep and the forecast")
        auto.add_argument(
            "--messages", type=int, default=2000, help="Messages to drain to a local SMTP server"
        )

        value = actions.add_parser(
            "clv", help="The customer-value model: fit and scoring time, synthetic data"
        )
        value.add_argument("--customers", type=int, default=100_000)
        value.add_argument("--runs", type=int, default=3, help="Timed runs per measure")
        value.add_argument("--seed", type=int, default=1)

        insights = actions.add_parser(
            "insights",
            help="The customer figures' recompute, the value fit, the dashboard, the four corners, Best and adoption",
        )
        insights.add_argument("--runs", type=int, default=10, help="Timed runs per page")
        insights.add_argument(
            "--suppliers",
            action="store_true",
            help="First add supplier chases and bills (once) for the Best page",
        )
        strategy = actions.add_parser(
            "strategy",
            help="Goals: each metric for a month and a year, the Strategy and home pages, the readings",
        )
        strategy.add_argument("--runs", type=int, default=5, help="Timed runs per measure")
        dedupe = actions.add_parser(
            "dedupe",
            help="The duplicate scan (full and incremental), the duplicates page, a big merge (writes!)",
        )
        dedupe.add_argument("--runs", type=int, default=3, help="Timed full scans")
        dedupe.add_argument(
            "--touch", type=int, default=1000, help="Parties changed before the incremental scan"
        )
        dedupe.add_argument(
            "--extra", type=int, default=10_000, help="Timeline entries added to the merged party"
        )
        dedupe.add_argument(
            "--plant", type=int, default=1000, help="Pairs of people made to share an email or a phone first"
        )
        dedupe.add_argument("--seed", type=int, default=1)
        imp = actions.add_parser(
            "import", help="CSV import rate with validation and matching; memory on a big file"
        )
        imp.add_argument("--rows", type=int, default=100_000, help="Rows of the timed import")
        imp.add_argument("--big", type=int, default=1_000_000, help="Rows of the memory run (0: skip it)")
        imp.add_argument("--on-match", default="update", choices=["skip", "update", "create"])
        imp.add_argument("--seed", type=int, default=1)
        imp.add_argument("--child", help=argparse.SUPPRESS)
        imp.add_argument("--undo-child", type=int, help=argparse.SUPPRESS)
        bill = actions.add_parser("billing", help="Invoices: the overdue sweep, the list by status, the PDF")
        bill.add_argument("--generate", action="store_true", help="Generate the invoices first")
        bill.add_argument("--invoices", type=int, default=200_000)
        bill.add_argument("--batch", type=int, default=5_000, help="Invoices per transaction")
        bill.add_argument("--runs", type=int, default=5, help="Timed runs per measure")
        bill.add_argument("--seed", type=int, default=1)
        bill.add_argument("--force", action="store_true", help="Delete earlier bench invoices first")

    def handle(self, *args, action: str, **options) -> None:
        root = str(settings.BASE_DIR)
        if root not in sys.path:
            sys.path.insert(0, root)  # bench/ sits next to friday/ in the repository and is not installed
        from rich.console import Console

        from bench import BenchError

        # A wide table even when the output goes to a file or a pipe.
        console = Console() if sys.stdout.isatty() else Console(width=130)
        try:
            if action == "import":
                import json

                from bench import imports

                if options["child"]:
                    self.stdout.write(json.dumps(imports.child(options["child"], options["on_match"])))
                    return
                if options["undo_child"]:
                    self.stdout.write(json.dumps(imports.undo_child(options["undo_child"])))
                    return
                imports.report(
                    imports.run(
                        rows=options["rows"],
                        big=options["big"],
                        on_match=options["on_match"],
                        seed=options["seed"],
                        console=console,
                    ),
                    console,
                )
            elif action == "jobs":
                from bench import jobs

                made = None
                if options["generate"]:
                    made = jobs.generate(
                        jobs=options["jobs"],
                        seed=options["seed"],
                        batch=options["batch"],
                        force=options["force"],
                        console=console,
                    )
                jobs.report(made, jobs.run(runs=options["runs"], console=console), console)
            elif action == "insights":
                from bench import insights as insights_bench

                if options["suppliers"]:
                    insights_bench.suppliers(chases=20_000, bills=20_000, seed=1, console=console)
                recompute, timings = insights_bench.run(runs=options["runs"], console=console)
                insights_bench.report(recompute, timings, console)
            elif action == "strategy":
                from bench import strategy as strategy_bench

                strategy_bench.report(strategy_bench.run(runs=options["runs"], console=console), console)
            elif action == "dedupe":
                from bench import dedupe

                dedupe.report(
                    dedupe.run(
                        runs=max(1, options["runs"]),
                        touch=options["touch"],
                        extra=options["extra"],
                        plant=max(0, options["plant"]),
                        seed=options["seed"],
                        console=console,
                    ),
                    console,
                )
            elif action == "billing":
                from bench import billing

                made = None
                if options["generate"]:
                    made = billing.generate(
                        invoices=options["invoices"],
                        seed=options["seed"],
                        batch=options["batch"],
                        force=options["force"],
                        console=console,
                    )
                billing.report(made, billing.run(runs=options["runs"], console=console), console)
            elif action == "clv":
                from bench import clv

                clv.report(
                    clv.run(
                        customers=options["customers"],
                        runs=options["runs"],
                        seed=options["seed"],
                        console=console,
                    ),
                    console,
                )
            elif action == "automation":
                from bench import automation

                automation.report(
                    automation.run(runs=options["runs"], messages=options["messages"], console=console),
                    console,
                )
            elif action == "processes":
                from bench import processes

                generated = None
                if options["generate"]:
                    generated = processes.generate(
                        changes=options["changes"],
                        seed=options["seed"],
                        batch=options["batch"],
                        force=options["force"],
                        console=console,
                    )
                processes.report(generated, processes.run(runs=options["runs"], console=console), console)
            elif action == "generate":
                from bench.generate import generate, report

                result = generate(
                    parties=options["parties"],
                    activities=options["activities"],
                    batch=options["batch"],
                    seed=options["seed"],
                    force=options["force"],
                    console=console,
                )
                report(result, console)
            else:
                from bench.run import run

                run(
                    requests=options["requests"],
                    port=options["port"],
                    seed=options["seed"],
                    save=not options["no_save"],
                    console=console,
                )
        except BenchError as exc:
            raise CommandError(str(exc)) from exc
        except KeyboardInterrupt as exc:
            raise CommandError("Interrupted (the bench server, if any, was stopped).") from exc
