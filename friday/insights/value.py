"""The customer-value model in the product: the fit job (nightly after the recompute, and `friday insights fit`)
and the scoring of customer rows against the stored fit.

The fit reads every customer's purchase history from the customer figures — purchases are days with a paid
invoice, amounts in the business's currency, time in days — fits BG/NBD and Gamma-Gamma (insights.clv), works
out the RFM quintile cuts (insights.rfm), stores it all in a `CustomerValueFit` row, and rescores every row in
batches. `metrics.compute` scores the rows it writes against the same stored fit with `score_rows`, so the events
sweep and the full recompute still agree. Each row is scored as of its own `as_of` (T runs from the first
purchase to that day), so rescoring a row changes nothing but what the fit changed.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, cast

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Field, Sum

from friday.core import business, clock
from friday.core.money import round_money
from friday.insights import clv, rfm, risk
from friday.insights.models import CustomerMetrics, CustomerValueFit

BATCH = 2000
# Below these the parameters are guesses, not estimates: BG/NBD learns dropout only from customers who came back.
MIN_CUSTOMERS = 50
MIN_REPEAT = 20
YEAR_DAYS = 365.25
HORIZON_MONTHS = 12
MONTH_DAYS = YEAR_DAYS / 12
VALUE_FIELDS = [
    "value_fit",
    "p_alive",
    "expected_purchases_12m",
    "clv_12m",
    "rfm_recency",
    "rfm_frequency",
    "rfm_monetary",
    "rfm_segment",
]
RISK_FIELDS = ["risk_score", "risk_reasons", "lapsing"]


def discount_monthly() -> Decimal:
    """FRIDAY_CLV_DISCOUNT: the discount rate per month for CLV (default 0.01, i.e. 1% a month)."""
    raw = getattr(settings, "FRIDAY_CLV_DISCOUNT", "0.01")
    try:
        rate = Decimal(str(raw))
    except InvalidOperation as exc:
        raise ValueError(f"FRIDAY_CLV_DISCOUNT must be a number such as 0.01, not {raw!r}") from exc
    if not rate.is_finite() or not 0 <= rate < 1:
        raise ValueError(f"FRIDAY_CLV_DISCOUNT must be from 0 to below 1 (a monthly rate), not {raw!r}")
    return rate


def current_fit() -> CustomerValueFit | None:
    return CustomerValueFit.objects.order_by("-pk").first()


def _decimal(value: float, places: str) -> Decimal | None:
    if not math.isfinite(value):
        return None
    return Decimal(value).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def _history(rows: Sequence[Any], days: Callable[[Any], dt.date]) -> tuple[np.ndarray, ...]:
    """(x, t_x, T, mean repeat spend) in days for rows that bought; T is counted to `days(row)`."""
    x = np.array([r.purchases - 1 for r in rows], dtype=np.float64)
    t_x = np.array([(r.last_purchase_on - r.first_purchase_on).days for r in rows], dtype=np.float64)
    T = np.array([(days(r) - r.first_purchase_on).days for r in rows], dtype=np.float64)
    spend = np.array([float(r.repeat_revenue) for r in rows], dtype=np.float64)
    monetary = np.divide(spend, x, out=np.zeros_like(spend), where=x > 0)
    return x, t_x, np.maximum(T, t_x), monetary


def _params(fit: CustomerValueFit) -> tuple[clv.BGNBDParams, clv.GammaGammaParams | None]:
    assert fit.bgnbd_r is not None and fit.bgnbd_alpha is not None and fit.bgnbd_a is not None
    assert fit.bgnbd_b is not None
    bgnbd = clv.BGNBDParams(r=fit.bgnbd_r, alpha=fit.bgnbd_alpha, a=fit.bgnbd_a, b=fit.bgnbd_b)
    spend = None
    if fit.value_usable and fit.gg_p is not None and fit.gg_q is not None and fit.gg_gamma is not None:
        spend = clv.GammaGammaParams(p=fit.gg_p, q=fit.gg_q, gamma=fit.gg_gamma)
    return bgnbd, spend


def score_rows(rows: Sequence[CustomerMetrics], fit: CustomerValueFit | None) -> None:
    """Set the model's columns of these rows (saved or not) from `fit`, each as of its own `as_of`: vectorised
    over the batch, no query. Rows of customers who never bought, and everything without a usable fit, stay
    null."""
    for row in rows:
        row.value_fit_id = fit.pk if fit else None
        row.p_alive = row.expected_purchases_12m = row.clv_12m = None
        row.rfm_recency = row.rfm_frequency = row.rfm_monetary = None
        row.rfm_segment = ""
    if fit is None:
        return
    buyers = [r for r in rows if r.purchases > 0 and r.first_purchase_on and r.last_purchase_on]
    if not buyers:
        return
    cuts = rfm.loaded_cuts(fit.rfm_cuts)
    if cuts:
        recency, frequency, monetary = cuts
        for row in buyers:
            r = rfm.score(row.last_purchase_on, recency)
            f = rfm.score(row.purchases, frequency)
            m = rfm.score(row.revenue, monetary)
            row.rfm_recency, row.rfm_frequency, row.rfm_monetary = r, f, m
            row.rfm_segment = rfm.segment(r, f, m).value
    if not fit.purchases_usable:
        return
    days: dict[dt.datetime, dt.date] = {}

    def as_of_day(row: Any) -> dt.date:
        if row.as_of not in days:
            days[row.as_of] = clock.local_date(row.as_of)
        return days[row.as_of]

    x, t_x, T, spend = _history(buyers, as_of_day)
    bgnbd, gamma_gamma = _params(fit)
    alive = clv.bgnbd_probability_alive(bgnbd, x, t_x, T)
    expected = clv.bgnbd_conditional_expected_purchases(bgnbd, YEAR_DAYS, x, t_x, T)
    value = None
    if gamma_gamma is not None and fit.margin is not None:
        value = clv.customer_lifetime_value(
            bgnbd,
            gamma_gamma,
            x,
            t_x,
            T,
            spend,
            horizon=HORIZON_MONTHS,
            step=MONTH_DAYS,
            discount_rate=float(fit.discount_monthly),
            margin=float(fit.margin),
        )
    for i, row in enumerate(buyers):
        row.p_alive = _decimal(float(alive[i]), "0.0001")
        row.expected_purchases_12m = _decimal(float(expected[i]), "0.01")
        if value is not None:
            worth = _decimal(float(value[i]), "0.01")
            row.clv_12m = round_money(worth, row.currency) if worth is not None else None


# --- the fit job -------------------------------------------------------------------------------------------------


@dataclass
class FitResult:
    fit: CustomerValueFit
    rows: int


def _why(report: clv.FitReport) -> str:
    """Why a fit did not converge, in words. Histories that cannot pin the model down end one of two ways, and
    which one depends on the processor's floating point: a parameter runs to its bound, or the line search finds
    no better point on a flat likelihood (L-BFGS-B's "ABNORMAL")."""
    if "bound" in report.message:
        return "a parameter ran to its limit, so these purchase histories cannot pin the model down"
    if "ABNORMAL" in report.message:
        return (
            f"the likelihood is too flat to find a best fit (the optimiser gave up after {report.iterations} "
            "iterations), so these purchase histories cannot pin the model down"
        )
    return f"the optimiser stopped after {report.iterations} iterations ({report.message.strip() or 'no reason given'})"


def _fit_models(fit: CustomerValueFit, rows: list[Any], home: str) -> None:
    """Fill the fit's parameters and say in `note` what is not usable and why (no exception escapes: a fit
    that cannot be made is a row that says so)."""
    if fit.customers < MIN_CUSTOMERS:
        fit.note = (
            f"Only {fit.customers} customer{'s have' if fit.customers != 1 else ' has'} bought; "
            f"the model needs at least {MIN_CUSTOMERS}."
        )
        return
    if fit.repeat_customers < MIN_REPEAT:
        fit.note = (
            f"Only {fit.repeat_customers} customer{'s have' if fit.repeat_customers != 1 else ' has'} "
            f"bought more than once; the model needs at least {MIN_REPEAT} to tell who stopped buying."
        )
        return
    x, t_x, T, spend = _history(rows, lambda r: r.as_of_day)
    try:
        bgnbd, report = clv.bgnbd_fit(x, t_x, T)
    except (ValueError, ArithmeticError) as exc:
        fit.note = f"The repeat-buying model (BG/NBD) could not be fitted: {exc}."
        return
    fit.bgnbd_r, fit.bgnbd_alpha, fit.bgnbd_a, fit.bgnbd_b = bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b
    fit.bgnbd_log_likelihood, fit.bgnbd_converged = report.log_likelihood, report.converged
    fit.bgnbd_seconds = report.seconds
    if not report.converged:
        fit.note = f"The repeat-buying model (BG/NBD) did not converge: {_why(report)}."
        return
    fit.purchases_usable = True
    fit.gg_customers = int(np.count_nonzero((x > 0) & (spend > 0)))
    if fit.gg_customers < MIN_REPEAT:
        fit.note = (
            f"Only {fit.gg_customers} repeat customers paid in {home}; the spend model needs at least "
            f"{MIN_REPEAT}, so there is no lifetime value."
        )
        return
    try:
        spend_params, spend_report = clv.gamma_gamma_fit(x, spend)
    except (ValueError, ArithmeticError) as exc:
        fit.note = f"The spend model (Gamma-Gamma) could not be fitted: {exc}; so there is no lifetime value."
        return
    fit.gg_p, fit.gg_q, fit.gg_gamma = spend_params.p, spend_params.q, spend_params.gamma
    fit.gg_log_likelihood, fit.gg_converged = spend_report.log_likelihood, spend_report.converged
    fit.gg_seconds = spend_report.seconds
    if not spend_report.converged:
        fit.note = f"The spend model (Gamma-Gamma) did not converge: {_why(spend_report)}; no lifetime value."
    elif spend_params.q <= 1:
        fit.note = "Spend varies too much between customers for a finite average (Gamma-Gamma q ≤ 1); no lifetime value."
    elif fit.margin is None:
        fit.note = "There is no revenue yet to take a gross margin from; no lifetime value."
    elif fit.margin <= 0:
        fit.note = (
            f"The business's gross margin is {100 * fit.margin:.1f}%: every customer would be worth a loss, "
            "so no lifetime value is shown."
        )
    else:
        fit.value_usable = True


def fit(*, batch: int = BATCH, progress: Callable[[int, int], None] | None = None) -> FitResult:
    """Fit the model on every customer who bought, store it, and rescore every customer row in batches (one
    read and one upsert per batch, each batch in its own transaction with its rows locked)."""
    began = time.perf_counter()
    now = clock.now()
    home = business.currency()
    days: dict[dt.datetime, dt.date] = {}
    rows: list[Any] = []
    for purchases, first, last, as_of, revenue, repeat_revenue in (
        CustomerMetrics.objects.filter(
            purchases__gt=0, first_purchase_on__isnull=False, last_purchase_on__isnull=False
        )
        .values_list(
            "purchases", "first_purchase_on", "last_purchase_on", "as_of", "revenue", "repeat_revenue"
        )
        .iterator(chunk_size=10_000)
    ):
        if first is None or last is None:  # excluded by the filter; says so to the type checker
            continue
        if as_of not in days:
            days[as_of] = clock.local_date(as_of)
        rows.append(_Buyer(purchases, first, last, days[as_of], revenue, repeat_revenue))
    totals = CustomerMetrics.objects.aggregate(revenue=Sum("revenue"), profit=Sum("gross_profit"))
    revenue, profit = totals["revenue"] or Decimal(0), totals["profit"] or Decimal(0)
    margin = None
    if revenue > 0:
        margin = max(Decimal("-999"), (profit / revenue).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))
    record = CustomerValueFit(
        as_of=now,
        customers=len(rows),
        repeat_customers=sum(1 for r in rows if r.purchases > 1),
        margin=margin,
        discount_monthly=discount_monthly(),
        rfm_cuts=rfm.stored_cuts(
            [r.last_purchase_on for r in rows], [r.purchases for r in rows], [r.revenue for r in rows]
        ),
    )
    _fit_models(record, rows, home)
    del rows
    record.seconds = time.perf_counter() - began
    record.save()
    written = rescore(record, batch=batch, progress=progress)
    record.seconds = time.perf_counter() - began
    record.save(update_fields=["seconds"])
    return FitResult(fit=record, rows=written)


@dataclass
class _Buyer:
    purchases: int
    first_purchase_on: dt.date
    last_purchase_on: dt.date
    as_of_day: dt.date
    revenue: Decimal
    repeat_revenue: Decimal


# What scoring and the risk reasons read: the rescore loads only these (a test holds it to one query a batch).
READ_FIELDS = [
    "party_id",
    "currency",
    "as_of",
    "purchases",
    "first_purchase_on",
    "last_purchase_on",
    "revenue",
    "repeat_revenue",
    "usual_interval_days",
    "revenue_12m",
    "revenue_prev_12m",
    "latest_nps",
    "latest_nps_at",
    "oldest_overdue_on",
    "escalated_reminders",
    "last_contact_at",
    "has_people",
]
WRITE_CHUNK = 1000


def _write(rows: Sequence[CustomerMetrics], names: Sequence[str]) -> None:
    """Set these columns of these rows: one UPDATE … FROM (VALUES …) per chunk (SQLite ≥ 3.33 and PostgreSQL),
    linear in the rows — Django's bulk_update is a CASE per column with a branch per row, and an upsert would
    send every column of every row again."""
    opts = CustomerMetrics._meta
    quote = connection.ops.quote_name
    table = quote(opts.db_table)
    fields = [cast(Field, opts.get_field(name)) for name in names]
    columns = ", ".join(f"c{i}" for i in range(len(fields) + 1))
    # Each value is cast to its column's type: a VALUES column of NULLs alone would be text on PostgreSQL.
    sets = ", ".join(
        f"{quote(str(f.column))} = CAST(v.c{i} AS {f.cast_db_type(connection)})"
        for i, f in enumerate(fields, 1)
    )
    row_marks = "(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), WRITE_CHUNK):
            chunk = rows[start : start + WRITE_CHUNK]
            params: list[Any] = []
            for row in chunk:
                params.append(row.party_id)
                for f in fields:
                    params.append(f.get_db_prep_save(getattr(row, f.attname), connection))
            # Only identifiers from the model's own metadata are formatted in; every value is a parameter.
            sql = (
                f"WITH v ({columns}) AS (VALUES {', '.join([row_marks] * len(chunk))}) "  # noqa: S608
                f"UPDATE {table} SET {sets} FROM v WHERE {table}.{quote(str(opts.pk.column))} = v.c0"
            )
            cursor.execute(sql, params)


def rescore(
    fit: CustomerValueFit, *, batch: int = BATCH, progress: Callable[[int, int], None] | None = None
) -> int:
    """Every customer row scored against `fit`, with its risk reasons redone as of the row's own time (the
    model's reason may come or go). Each batch is read (only what scoring needs), scored and written back in one
    transaction with its rows locked, so a sweep running alongside waits rather than being overwritten.
    Returns the rows written."""
    total = CustomerMetrics.objects.count()
    done, last = 0, 0
    update = [*VALUE_FIELDS, *RISK_FIELDS]
    days: dict[dt.datetime, dt.date] = {}
    while True:
        with transaction.atomic():
            chunk = list(
                CustomerMetrics.objects.select_for_update()
                .only(*READ_FIELDS)
                .filter(party_id__gt=last)
                .order_by("party_id")[:batch]
            )
            if not chunk:
                break
            score_rows(chunk, fit)
            for row in chunk:
                if row.as_of not in days:
                    days[row.as_of] = clock.local_date(row.as_of)
                risk.apply(row, today=days[row.as_of], now=row.as_of)
            _write(chunk, update)
        last = chunk[-1].party_id
        done += len(chunk)
        if progress:
            progress(done, total)
    return done
