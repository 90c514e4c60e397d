"""Insights: per-customer figures kept current from events, the customer-value model, risk and its reasons."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from friday.insights.rfm import Segment as RfmSegment


class CustomerMetrics(models.Model):
    """One row per customer party: what they brought in and cost, how they buy, where things stand with them.

    Amounts are in the business's currency (`FRIDAY_CURRENCY`); invoices and costs in other currencies are not
    converted and are left out (counted in `other_currency_items`). Written by `metrics.compute` — by the
    events sweep for the parties an event touched, and by the full recompute — so both give the same row; the
    customer-value fit job rescores the model's columns (and the risk they feed) with the same function
    compute uses (`value.score_rows`)."""

    party = models.OneToOneField(
        "parties.Party", on_delete=models.CASCADE, primary_key=True, related_name="metrics"
    )
    # The party's owner and team, copied when the row is computed (a change of either is an event the sweep
    # follows): what the user may see is then read from these rows' own indexes, not through a join to parties.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    currency = models.CharField(max_length=3)
    revenue = models.DecimalField(max_digits=16, decimal_places=2, default=0)  # paid invoices, before tax
    job_costs = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    party_costs = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    costs = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    gross_profit = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    margin_percent = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    first_purchase_on = models.DateField(null=True, blank=True)
    last_purchase_on = models.DateField(null=True, blank=True)
    purchases = models.PositiveIntegerField(default=0)  # days with a paid invoice issued
    usual_interval_days = models.PositiveIntegerField(null=True, blank=True)  # median days between purchases
    last_contact_at = models.DateTimeField(null=True, blank=True)
    open_reminders = models.PositiveIntegerField(default=0)
    escalated_reminders = models.PositiveIntegerField(default=0)  # open and more than a day overdue
    latest_nps = models.SmallIntegerField(null=True, blank=True)
    latest_nps_at = models.DateTimeField(null=True, blank=True)
    amount_overdue = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    other_currency_items = models.PositiveIntegerField(default=0)
    revenue_12m = models.DecimalField(max_digits=16, decimal_places=2, default=0)  # the last 12 months
    revenue_prev_12m = models.DecimalField(max_digits=16, decimal_places=2, default=0)  # the 12 before
    oldest_overdue_on = models.DateField(null=True, blank=True)  # the due date of the oldest overdue invoice
    has_people = models.BooleanField(default=True)  # an organisation with someone on file to talk to
    # At risk: 0–100 from the signals below, each with its reason in words ({"code": …, "text": …}).
    risk_score = models.PositiveSmallIntegerField(default=0)
    risk_reasons = models.JSONField(default=list, blank=True)
    # Lapsing (a risk reason) and what such a customer is worth a year (mean of the last two years' revenue):
    # the four corners' lost opportunity adds these up in the database.
    lapsing = models.BooleanField(default=False)
    yearly_value = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    # Revenue on the purchase days after the first: the customer-value model's spend per repeat purchase.
    repeat_revenue = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    # The customer-value model (insights.value) for this row at its as_of, from the fit it names; null when the
    # customer never bought or there is no usable fit (the fit's note says why).
    value_fit = models.ForeignKey(  # no index: nothing looks rows up by fit, and every write would update it
        "CustomerValueFit", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    p_alive = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    expected_purchases_12m = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    clv_12m = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    # RFM scores 1–5 against the fit's quintile cuts, and the segment they make (insights.rfm).
    rfm_recency = models.PositiveSmallIntegerField(null=True, blank=True)
    rfm_frequency = models.PositiveSmallIntegerField(null=True, blank=True)
    rfm_monetary = models.PositiveSmallIntegerField(null=True, blank=True)
    rfm_segment = models.CharField(max_length=20, blank=True, choices=RfmSegment.choices)
    as_of = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["-gross_profit", "party"], name="metrics_profit_idx"),
            models.Index(fields=["-revenue", "party"], name="metrics_revenue_idx"),
            models.Index(fields=["last_purchase_on"], name="metrics_last_purchase_idx"),
            models.Index(fields=["-amount_overdue", "party"], name="metrics_overdue_idx"),
            models.Index(fields=["-risk_score", "party"], name="metrics_risk_idx"),
            models.Index(fields=["owner", "-risk_score", "party"], name="metrics_owner_risk_idx"),
            models.Index(fields=["team", "-risk_score", "party"], name="metrics_team_risk_idx"),
            models.Index(
                fields=["owner", "yearly_value"],
                condition=models.Q(lapsing=True),
                name="metrics_owner_lapsing_idx",
            ),
            models.Index(
                fields=["team", "yearly_value"],
                condition=models.Q(lapsing=True),
                name="metrics_team_lapsing_idx",
            ),
            models.Index(
                fields=["party", "yearly_value"], condition=models.Q(lapsing=True), name="metrics_lapsing_idx"
            ),
            models.Index(fields=["-clv_12m", "party"], name="metrics_clv_idx"),
            # A segment's list walks it; the segments' totals read it alone (R, F, M ride along).
            models.Index(
                fields=["rfm_segment", "-revenue", "party", "rfm_recency", "rfm_frequency", "rfm_monetary"],
                name="metrics_rfm_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.party_id}: {self.revenue} {self.currency}"


class CustomerValueFit(models.Model):
    """One fit of the customer-value model over every customer who bought (insights.value.fit): BG/NBD for
    repeat buying and Gamma-Gamma for spend (insights.clv, time in days), with the margin and discount rate the
    CLV used and the RFM quintile cuts. The latest row is the one in use; earlier rows are its history.

    `purchases_usable`: P(alive) and expected purchases may be shown; `value_usable`: CLV too. When either is
    False, `note` says why in words (too few repeat customers, no convergence …) and the columns stay null."""

    as_of = models.DateTimeField()
    customers = models.PositiveIntegerField(default=0)  # with at least one purchase
    repeat_customers = models.PositiveIntegerField(default=0)  # with two purchases or more
    # BG/NBD [FHL05]: purchase rate ~ Gamma(r, alpha) per day; dropout ~ Beta(a, b).
    bgnbd_r = models.FloatField(null=True, blank=True)
    bgnbd_alpha = models.FloatField(null=True, blank=True)
    bgnbd_a = models.FloatField(null=True, blank=True)
    bgnbd_b = models.FloatField(null=True, blank=True)
    bgnbd_log_likelihood = models.FloatField(null=True, blank=True)
    bgnbd_converged = models.BooleanField(default=False)
    bgnbd_seconds = models.FloatField(default=0)
    # Gamma-Gamma [FH13]: spend ~ Gamma(p, nu); nu ~ Gamma(q, gamma). Fitted on repeat customers with spend.
    gg_p = models.FloatField(null=True, blank=True)
    gg_q = models.FloatField(null=True, blank=True)
    gg_gamma = models.FloatField(null=True, blank=True)
    gg_log_likelihood = models.FloatField(null=True, blank=True)
    gg_converged = models.BooleanField(default=False)
    gg_customers = models.PositiveIntegerField(default=0)
    gg_seconds = models.FloatField(default=0)
    margin = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)  # gross, a fraction
    discount_monthly = models.DecimalField(max_digits=6, decimal_places=4)
    purchases_usable = models.BooleanField(default=False)
    value_usable = models.BooleanField(default=False)
    note = models.TextField(blank=True)
    rfm_cuts = models.JSONField(default=dict, blank=True)
    seconds = models.FloatField(default=0)  # reading, fitting and writing every row

    def __str__(self) -> str:
        return f"customer-value fit of {self.as_of:%Y-%m-%d %H:%M}"

    @property
    def margin_percent(self) -> Decimal | None:
        return None if self.margin is None else (100 * self.margin).quantize(Decimal("0.1"))

    @property
    def discount_percent(self) -> Decimal:
        return (100 * self.discount_monthly).normalize()


class MetricsRun(models.Model):
    """A full recompute, batched and resumable: `last_party_id` is where the next batch starts."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    last_party_id = models.BigIntegerField(default=0)
    parties_done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"recompute from {self.started_at:%Y-%m-%d %H:%M}: {self.parties_done}/{self.total}"


class MetricsCursor(models.Model):
    """How far the events sweep has read (DomainEvent ids): one row."""

    name = models.CharField(max_length=40, unique=True)
    last_event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name}: {self.last_event_id}"


class Digest(models.Model):
    """A user's daily digest for one business day: the key that makes a re-run, a retried task or a second worker
    write it once. A day whose digest was empty has a row too (with no message), so it is not rebuilt all day.

    `state` is what the sections remember for the next day's digest (the customers then at risk, so the next
    one can say which are new)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digests")
    on = models.DateField(help_text="The business day it is for")
    created_at = models.DateTimeField()
    items = models.PositiveIntegerField(default=0, help_text="Lines in it; 0: nothing to say, not sent")
    message = models.ForeignKey(
        "messaging.OutboundMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "on"], name="digest_once_a_day")]

    def __str__(self) -> str:
        return f"digest of {self.user_id} for {self.on.isoformat()}"


class AdoptionWeek(models.Model):
    """One ISO week of adoption figures (`insights.adoption`): when they were taken and whether they are final.

    A week in progress is recomputed by every run of the adoption job; the first run after the week's end
    computes it once more as of that end and marks it final, and nothing changes it after that (except a
    back-fill with `--refresh`). A week with no row, or a past week not final, is what the job catches up."""

    week = models.DateField(unique=True)  # its Monday (business time zone)
    as_of = models.DateTimeField()  # the moment the figures describe: the week's end, or the time of the run
    final = models.BooleanField(default=False)
    computed_at = models.DateTimeField()
    seconds = models.FloatField(default=0)  # how long the computation took

    class Meta:
        ordering = ["-week"]

    def __str__(self) -> str:
        return f"week of {self.week}{'' if self.final else ' (in progress)'}"


class AdoptionCount(models.Model):
    """What one person did (or left undone) in one process in one week — the signals the adoption score reads.

    `person` is a user id, 0 for nobody (automation, a deleted user, a record without an owner); `process` is a
    process id, 0 for what belongs to no process (reminders, activities). Plain ids rather than foreign keys, as
    in the processes' roll-ups: a week's figures stay as they were taken when a user or a process goes."""

    week = models.DateField()
    person = models.BigIntegerField(default=0)
    process = models.BigIntegerField(default=0)
    # Moves made in the week (entries into a process included, migrations not), and those off the process.
    moves = models.PositiveIntegerField(default=0)
    off_process = models.PositiveIntegerField(default=0)  # undeclared or overridden (each counted once)
    undeclared = models.PositiveIntegerField(default=0)
    overridden = models.PositiveIntegerField(default=0)
    # At the week's end (or the run's time): records owned in an open stage, and those past its time limit.
    open_records = models.PositiveIntegerField(default=0)
    stuck = models.PositiveIntegerField(default=0)
    # At the week's end: reminders assigned and still open, and those past their time.
    open_reminders = models.PositiveIntegerField(default=0)
    overdue = models.PositiveIntegerField(default=0)
    # Logged in the week by the person.
    calls = models.PositiveIntegerField(default=0)
    meetings = models.PositiveIntegerField(default=0)
    notes = models.PositiveIntegerField(default=0)
    emails = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["week", "person", "process"], name="adoption_count_key"),
        ]
        indexes = [models.Index(fields=["person", "week"], name="adoption_person_idx")]

    def __str__(self) -> str:
        return f"{self.week} person {self.person} process {self.process}"

    @property
    def activities(self) -> int:
        return self.calls + self.meetings + self.notes + self.emails
