"""Every row that points at a party, found from the models themselves, and how each moves in a merge.

The merge does not keep a hand-written list of tables that could go stale: it walks every installed model's
foreign keys to `parties.Party` (many-to-many link tables included). A key without a uniqueness rule is moved
with one UPDATE. A key that takes part in a unique rule needs a decision — two lifecycle positions, two metrics
rows, the same tag twice — so it must have a rule in `RULES`; a new one without a rule makes every merge (and the
test that walks the relations) fail loudly rather than lose rows or break a constraint.

The decisions, per relation:

- contact points, roles, tags, affiliations (parties.*): unioned by `services._union_party_data`, before this runs;
- `processes.PartyStage` (one row per party): the survivor's position is kept; when only the other party is in
  the lifecycle, its position moves and its lifecycle history is re-keyed to the survivor, so the next move
  closes the right stay. Otherwise the other's lifecycle history moves (its rows keep the record id they were
  made under, as a finished case) and its position row goes;
- `processes.StageChange`: moves; the daily roll-ups (FunnelDay, MoveDay, StayDay) count moves, not parties,
  and no move is deleted, so they are unchanged;
- `insights.CustomerMetrics` (one row per party): the other's row goes; the survivor's is recomputed after;
- `automation.Firing`: moves; firings keyed on the other party (`rule:party:<id>:occurrence`) are re-keyed to
  the survivor, so "once per party" stays once per person (a birthday message already sent this year under
  the other record is not sent again). Where the survivor already has that key, the other's firing keeps its
  old key (unique, since ids are never reused) and still moves;
- `messaging.InboundMessage.parties` (a link table): unioned — a mail filed on both is filed once;
- `duplicates.DuplicatePair`: pairs between the two go; other open pairs of the merged-away party go (the next
  scan looks at the survivor again, its updated_at having moved); dismissals carry over to the survivor;
- everything else (deals, jobs, costs and supplier costs, assets, service plans, invoices, reminders and chased
  suppliers, outbound messages, feedback requests and responses, timeline entries, merge records): moves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.db import models
from django.db.models import Q

from friday.parties.models import Party


@dataclass(frozen=True)
class Relation:
    model: type[models.Model]
    field: models.Field

    @property
    def key(self) -> str:
        return f"{self.model._meta.label}.{self.field.name}"

    @property
    def unique(self) -> bool:
        name = self.field.name
        meta = self.model._meta
        if self.field.unique:
            return True
        for constraint in meta.constraints:
            if isinstance(constraint, models.UniqueConstraint) and name in (constraint.fields or ()):
                return True
        return any(name in together for together in meta.unique_together)


def party_relations() -> list[Relation]:
    """Every foreign key to Party in every installed model, link tables of many-to-many fields included."""
    out = []
    for model in apps.get_models(include_auto_created=True):
        for f in model._meta.concrete_fields:
            if f.is_relation and f.related_model is Party:
                out.append(Relation(model, f))
    return out


# Relations the merge service unions itself (services._union_party_data) before the rules below run.
UNIONED = frozenset(
    {
        "parties.EmailAddress.party",
        "parties.Phone.party",
        "parties.Address.party",
        "parties.PartyRole.party",
        "parties.PartyTag.party",
        "parties.Affiliation.person",
        "parties.Affiliation.organisation",
    }
)

# Counts in the merge record use the words people use.
LABELS = {
    "parties.Activity.party": "timeline entries",
    "processes.StageChange.party": "stage changes",
    "processes.PartyStage.party": "lifecycle position",
    "deals.Deal.party": "deals",
    "jobs.Job.party": "jobs",
    "jobs.Asset.party": "assets",
    "jobs.ServicePlan.party": "service plans",
    "jobs.Cost.party": "costs",
    "jobs.Cost.supplier": "costs as supplier",
    "billing.Invoice.party": "invoices",
    "reminders.Reminder.party": "reminders",
    "reminders.Reminder.chase": "reminders chasing them",
    "messaging.OutboundMessage.party": "messages sent",
    "messaging.InboundMessage_parties.party": "messages received",
    "automation.Firing.party": "automation firings",
    "feedback.FeedbackRequest.party": "feedback requests",
    "feedback.Response.party": "feedback answers",
    "duplicates.PartyMerge.survivor": "earlier merges",
    "duplicates.DuplicatePair.party_a": "duplicate pairs",
    "duplicates.DuplicatePair.party_b": "duplicate pairs",
    "insights.CustomerMetrics.party": "customer figures",
}


def label(relation: Relation) -> str:
    return LABELS.get(relation.key) or str(relation.model._meta.verbose_name_plural)


def _move(relation: Relation, survivor: Party, other: Party) -> int:
    name = relation.field.name
    return relation.model._default_manager.filter(**{name: other.pk}).update(**{name: survivor.pk})


def _union(relation: Relation, survivor: Party, other: Party) -> int:
    """A link table: the other's links to what the survivor is already linked to go, the rest move."""
    name = relation.field.name
    manager = relation.model._default_manager
    (partner,) = [
        f.name
        for f in relation.model._meta.concrete_fields
        if f.is_relation and f.name != name and f.related_model is not Party
    ]
    theirs = manager.filter(**{name: survivor.pk}).values(partner)
    manager.filter(**{name: other.pk, f"{partner}__in": theirs}).delete()
    return _move(relation, survivor, other)


def _party_stage(relation: Relation, survivor: Party, other: Party) -> int:
    from friday.processes.models import PartyStage, RecordType, StageChange

    if not PartyStage.objects.filter(party_id=other.pk).exists():
        return 0
    if PartyStage.objects.filter(party_id=survivor.pk).exists():
        PartyStage.objects.filter(party_id=other.pk).delete()
        return 0
    # Only the other was in the lifecycle: its position and the case's history become the survivor's.
    PartyStage.objects.filter(party_id=other.pk).update(party_id=survivor.pk)
    StageChange.objects.filter(record_type=RecordType.PARTY, record_id=other.pk).update(record_id=survivor.pk)
    return 1


def _metrics(relation: Relation, survivor: Party, other: Party) -> int:
    relation.model._default_manager.filter(**{relation.field.name: other.pk}).delete()
    return 0  # recomputed for the survivor after the merge: nothing "moves"


def _firings(relation: Relation, survivor: Party, other: Party) -> int:
    from friday.automation.models import Firing

    moved = Firing.objects.filter(party_id=other.pk).exclude(record_type="party", record_id=other.pk)
    count = moved.update(party_id=survivor.pk)
    keyed = list(
        Firing.objects.filter(party_id=other.pk, record_type="party", record_id=other.pk).only(
            "pk", "key", "rule_id"
        )
    )
    renamed = {}
    for firing in keyed:
        prefix = f"{firing.rule_id}:party:{other.pk}:"
        if firing.key.startswith(prefix):
            new = f"{firing.rule_id}:party:{survivor.pk}:{firing.key[len(prefix) :]}"
            if len(new) <= 200:
                renamed[firing.pk] = new
    taken = set(Firing.objects.filter(key__in=list(renamed.values())).values_list("key", flat=True))
    for firing in keyed:
        firing.party_id = survivor.pk
        firing.record_id = survivor.pk
        new_key = renamed.get(firing.pk)
        if new_key is not None and new_key not in taken:
            firing.key = new_key
            taken.add(new_key)
    Firing.objects.bulk_update(keyed, ["party_id", "record_id", "key"], batch_size=500)
    return count + len(keyed)


def _pairs(relation: Relation, survivor: Party, other: Party) -> int:
    """Runs for both sides of a pair; the first call does the work."""
    from friday.duplicates.models import DuplicatePair

    involving = Q(party_a_id=other.pk) | Q(party_b_id=other.pk)
    DuplicatePair.objects.filter(
        Q(party_a_id=survivor.pk, party_b_id=other.pk) | Q(party_a_id=other.pk, party_b_id=survivor.pk)
    ).delete()
    DuplicatePair.objects.filter(involving, dismissed_at__isnull=True).delete()
    for pair in DuplicatePair.objects.filter(involving):
        third = pair.party_b_id if pair.party_a_id == other.pk else pair.party_a_id
        a, b = sorted((third, survivor.pk))
        if DuplicatePair.objects.filter(party_a_id=a, party_b_id=b).exists():
            pair.delete()
        else:
            DuplicatePair.objects.filter(pk=pair.pk).update(party_a_id=a, party_b_id=b)
    return 0


Rule = Callable[[Relation, Party, Party], int]
RULES: dict[str, Rule] = {
    "processes.PartyStage.party": _party_stage,
    "insights.CustomerMetrics.party": _metrics,
    "automation.Firing.party": _firings,
    "messaging.InboundMessage_parties.party": _union,
    "duplicates.DuplicatePair.party_a": _pairs,
    "duplicates.DuplicatePair.party_b": _pairs,
}


class NoMergeRule(RuntimeError):
    """A table with a unique rule on a party key that the merge does not know how to reconcile."""


def plan() -> list[tuple[Relation, Rule]]:
    """What the merge will do to each relation, in order: the rules first (PartyStage before StageChange moves,
    so its history is re-keyed while it still points at the other party), then the plain moves."""
    ruled, plain = [], []
    for relation in party_relations():
        if relation.key in UNIONED:
            continue
        rule = RULES.get(relation.key)
        if rule is not None:
            ruled.append((relation, rule))
        elif relation.unique:
            raise NoMergeRule(
                f"{relation.key} is unique per party and has no merge rule: add one to "
                "friday.duplicates.relations.RULES (keep the survivor's, re-key, or recompute)."
            )
        else:
            plain.append((relation, _move))
    return ruled + plain


def move_all(survivor: Party, other: Party) -> dict[str, int]:
    """Point every row of `other` at `survivor`. Returns what moved, by label (kinds with none left out)."""
    counts: dict[str, int] = {}
    for relation, rule in plan():
        n = rule(relation, survivor, other)
        if n:
            name = label(relation)
            counts[name] = counts.get(name, 0) + n
    return counts


def count_all(party: Party) -> dict[str, int]:
    """How many rows of each kind point at `party` (what a merge would move), for the merge page."""
    counts: dict[str, int] = {}
    for relation, _ in plan():
        if relation.key in {"insights.CustomerMetrics.party", "processes.PartyStage.party"}:
            continue
        if relation.key.startswith("duplicates.DuplicatePair"):
            continue
        n = relation.model._default_manager.filter(**{relation.field.name: party.pk}).count()
        if n:
            name = label(relation)
            counts[name] = counts.get(name, 0) + n
    return counts
