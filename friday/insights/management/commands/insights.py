"""`friday insights recompute | sweep | fit | adoption`: every customer's figures, in resumable batches, with a
progress bar; the new events' customers; the customer-value model fitted and every customer rescored, with a
summary; the weekly adoption figures from history (the hourly job keeps them after that)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from friday.insights import adoption, metrics, value
from friday.insights.models import CustomerValueFit


class Command(BaseCommand):
    help = (
        "Customer figures: `recompute` rebuilds them all (resuming an interrupted run), `sweep` applies new "
        "events, `fit` fits the customer-value model and rescores every customer; `adoption` computes the weekly "
        "adoption figures from history."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(
            dest="action", required=True, metavar="{recompute,sweep,fit,adoption}"
        )
        recompute = actions.add_parser(
            "recompute", help="Recompute every customer's figures (resumes a stopped run)"
        )
        recompute.add_argument("--restart", action="store_true", help="Start afresh instead of resuming")
        recompute.add_argument(
            "--batch", type=int, default=metrics.BATCH, help="Parties per batch (transaction)"
        )
        actions.add_parser("sweep", help="Recompute the customers that new events touched")
        fit = actions.add_parser(
            "fit",
            help="Fit the customer-value model (BG/NBD, Gamma-Gamma, RFM cuts) and rescore every customer",
        )
        fit.add_argument("--batch", type=int, default=value.BATCH, help="Rows per batch (transaction)")
        weekly = actions.add_parser(
            "adoption", help="Compute the weekly adoption figures of the last weeks (those not final yet)"
        )
        weekly.add_argument(
            "--weeks", type=int, default=adoption.WEEKS, help="How many weeks back (this one too)"
        )
        weekly.add_argument("--redo", action="store_true", help="Recompute final weeks too")

    def handle(self, *args, action: str, **options) -> None:
        if action == "sweep":
            self.stdout.write(f"{metrics.sweep()} customer(s) recomputed.")
            return
        if action == "fit":
            self._fit(max(1, options["batch"]))
            return
        if action == "adoption":
            self._adoption(weeks=max(1, options["weeks"]), redo=options["redo"])
            return
        with Progress(
            TextColumn("[bold]customers"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
        ) as progress:
            task = progress.add_task("recompute", total=None)

            def tick(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            result = metrics.recompute(
                batch=max(1, options["batch"]), restart=options["restart"], progress=tick
            )
        run = result.run
        seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else 0
        self.stdout.write(
            f"{'Resumed and finished' if result.resumed else 'Finished'}: {run.parties_done:,} parties looked at, "
            f"{metrics.CustomerMetrics.objects.count():,} customers, in {seconds:.1f} s."
        )

    def _adoption(self, *, weeks: int, redo: bool) -> None:
        began = time.perf_counter()
        with Progress(
            TextColumn("[bold]weeks"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
        ) as progress:
            task = progress.add_task("adoption", total=weeks)
            written = adoption.backfill(weeks=weeks, redo=redo, progress=lambda week: progress.advance(task))
        self.stdout.write(
            f"{len(written)} week(s) written ({', '.join(w.isoformat() for w in written) or 'all were final'}) "
            f"in {time.perf_counter() - began:.1f} s."
        )

    def _fit(self, batch: int) -> None:
        try:
            value.discount_monthly()  # a bad setting stops here, named, before any work
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        with Progress(
            TextColumn("[bold]rescoring"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
        ) as progress:
            task = progress.add_task("fit", total=None)

            def tick(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            result = value.fit(batch=batch, progress=tick)
        self.stdout.write(summary(result.fit, result.rows))


def summary(fit: CustomerValueFit, rows: int) -> str:
    """What the fit found, in a few lines (the same figures the Best page shows)."""
    lines = [
        f"Fitted on {fit.customers:,} customers who bought ({fit.repeat_customers:,} more than once); "
        f"{rows:,} rows rescored in {fit.seconds:.1f} s.",
    ]
    if fit.bgnbd_r is not None:
        lines.append(
            f"BG/NBD (days): r={fit.bgnbd_r:.4g} alpha={fit.bgnbd_alpha:.4g} a={fit.bgnbd_a:.4g} b={fit.bgnbd_b:.4g}; "
            f"log-likelihood {fit.bgnbd_log_likelihood:,.1f}; "
            f"{'converged' if fit.bgnbd_converged else 'NOT converged'} in {fit.bgnbd_seconds:.2f} s."
        )
    if fit.gg_p is not None:
        lines.append(
            f"Gamma-Gamma on {fit.gg_customers:,} repeat customers: p={fit.gg_p:.4g} q={fit.gg_q:.4g} "
            f"gamma={fit.gg_gamma:.4g}; log-likelihood {fit.gg_log_likelihood:,.1f}; "
            f"{'converged' if fit.gg_converged else 'NOT converged'} in {fit.gg_seconds:.2f} s."
        )
    margin = "none" if fit.margin is None else f"{100 * fit.margin:.1f}%"
    lines.append(f"Gross margin {margin}; discount {100 * fit.discount_monthly:.2f}% a month.")
    if fit.value_usable:
        lines.append("P(alive), expected purchases and CLV are shown.")
    elif fit.purchases_usable:
        lines.append(f"P(alive) and expected purchases are shown, no CLV: {fit.note}")
    else:
        lines.append(f"No model figures are shown: {fit.note}")
    return "\n".join(lines)
