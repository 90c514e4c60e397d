"""`friday bench generate`: a large, realistic dataset written with bulk inserts.

Services are Friday's only write path — except here. Creating 100,000 parties one `party_create` call at a time
would take the better part of an hour, so the generator writes with `bulk_create` in batches, each batch in one
transaction. That is the documented exception, for the benchmark only. To keep the data honest it builds every
row the way the services do: `display_name` and `sort_name` (`normalise.sort_key`), `search_text`
(`services.search_text_for`), the first email and phone primary, `customer_since` for customers, a "created"
timeline entry and a `party.created` event per party, an `activity.logged` event per logged activity, and
`updated_at` moved by the latest activity (as `activity_log` does). Users, teams and tags go through the services.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import random
import re
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from bench import BENCH_USER_PREFIX, BenchError, words
from friday.accounts.models import Role, Scope, Team, User
from friday.accounts.services import team_create, user_create
from friday.core import clock
from friday.core.models import DomainEvent
from friday.parties import normalise
from friday.parties.models import (
    Activity,
    ActivityKind,
    Address,
    Affiliation,
    EmailAddress,
    Party,
    PartyKind,
    PartyRole,
    PartyTag,
    Phone,
    RoleName,
    Tag,
)
from friday.parties.services import search_text_for, tags_get_or_create

SPAN = dt.timedelta(days=730)  # parties and activities are spread over two years
TEAMS = [
    ("North", "Domestic customers north of the river"),
    ("South", "Domestic customers south of the river"),
    ("Commercial", "Businesses and landlords"),
]
# username suffix, first name, last name, role, team names
USERS = [
    ("admin", "Bench", "Admin", Role.ADMIN, []),
    ("manager", "Morgan", "Hale", Role.MANAGER, ["North", "South", "Commercial"]),
    ("amy", "Amy", "Rowe", Role.MEMBER, ["North"]),
    ("ben", "Ben", "Okafor", Role.MEMBER, ["North"]),
    ("cara", "Cara", "Lind", Role.MEMBER, ["South"]),
    ("dev", "Dev", "Mistry", Role.MEMBER, ["South"]),
    ("eli", "Eli", "Brandt", Role.MEMBER, ["Commercial"]),
    ("fay", "Fay", "Quinn", Role.MEMBER, ["Commercial", "North"]),
]
# 07700 900xxx (Ofcom's drama mobiles) is invalid for libphonenumber 9, so normalise_phone would refuse it.
MOBILE_PREFIXES = ["+4477000", "+4477001", "+4477003", "+4477007", "+4477008"]
# Exchanges of Ofcom's drama ranges (0161 496, 020 7946 …); libphonenumber accepts all 10,000 numbers of each.
LANDLINE_PREFIXES = [
    "+44161496",
    "+44207946",
    "+44113496",
    "+44117496",
    "+44121496",
    "+44131496",
    "+44141496",
    "+44151496",
    "+44114496",
    "+44116496",
    "+44118496",
    "+44191498",
]
ACTIVITY_KINDS = [
    ActivityKind.NOTE,
    ActivityKind.CALL,
    ActivityKind.MEETING,
    ActivityKind.EMAIL_IN,
    ActivityKind.EMAIL_OUT,
]
ACTIVITY_WEIGHTS = [30, 25, 10, 15, 20]
# The word lists are alphabetical; popularity must not be, or popular names would crowd the start of the list.
GIVEN_NAMES = random.Random(7).sample(words.GIVEN_NAMES, len(words.GIVEN_NAMES))
FAMILY_NAMES = random.Random(7).sample(words.FAMILY_NAMES, len(words.FAMILY_NAMES))
FOLD = str.maketrans({"ł": "l", "ø": "o", "æ": "ae", "ß": "ss", "đ": "d", "'": "", "-": ""})


@dataclass
class GenerateResult:
    parties: int
    activities: int
    rows: dict[str, int]
    seconds: float
    search_index: str
    seed: int
    vendor: str


@dataclass
class _Ctx:
    rng: random.Random
    now: dt.datetime
    owners: list[User]
    owner_weights: list[int]
    team_of: dict[int, Team | None]
    tags: list[Tag]
    extra_activities: list[int]
    org_ids: list[int] = field(default_factory=list)
    seen: Counter[str] = field(default_factory=Counter)
    mobiles: int = 0
    landlines: int = 0
    rows: Counter[str] = field(default_factory=Counter)


def bench_users() -> Any:
    return User.objects.filter(username__startswith=BENCH_USER_PREFIX)


def bench_parties() -> Any:
    return Party.objects.filter(created_by__username__startswith=BENCH_USER_PREFIX)


def generate(
    *, parties: int, activities: int, batch: int, seed: int, force: bool, console: Console
) -> GenerateResult:
    if parties < 1 or batch < 1:
        raise BenchError("--parties and --batch must be at least 1.")
    if activities < parties:
        raise BenchError(
            f"--activities ({activities:,}) must be at least --parties ({parties:,}): "
            "every party's timeline starts with its 'created' entry."
        )
    if "parties_party" not in connection.introspection.table_names():
        raise BenchError("The database has no Friday tables yet: run `friday migrate` first.")
    started = time.perf_counter()
    existing = bench_parties().count()
    if existing and not force:
        raise BenchError(
            f"This database already holds {existing:,} bench parties. Use --force to delete them and "
            "generate again, or point FRIDAY_DATA_DIR / FRIDAY_DATABASE_URL at an empty database."
        )
    if existing:
        _delete_bench_data(console, existing)

    rng = random.Random(seed)
    owners, team_of = _users_and_teams()
    tags = tags_get_or_create(words.TAGS)
    ctx = _Ctx(
        rng=rng,
        now=clock.now(),
        owners=owners,
        # The admin and the manager own few records; the members own most.
        owner_weights=[1 if u.role in (Role.ADMIN, Role.MANAGER) else 6 for u in owners],
        team_of=team_of,
        tags=tags,
        extra_activities=_spread(rng, parties, activities - parties),
    )
    _check_normalised(ctx)

    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description:<11}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        t_parties = progress.add_task("parties", total=parties, rate="")
        t_activities = progress.add_task("activities", total=activities, rate="")
        loading = time.perf_counter()
        for start in range(0, parties, batch):
            size = min(batch, parties - start)
            with transaction.atomic():
                written = _write_batch(ctx, start, size)
            elapsed = time.perf_counter() - loading
            progress.update(
                t_parties, advance=size, rate=f"{(start + size) / elapsed:,.0f}/s" if elapsed else ""
            )
            progress.update(
                t_activities,
                advance=written,
                rate=f"{ctx.rows['activities'] / elapsed:,.0f}/s" if elapsed else "",
            )
        t_finish = progress.add_task("statistics", total=None, rate="")
        _analyse()
        progress.update(t_finish, total=1, completed=1)

    return GenerateResult(
        parties=ctx.rows["parties"],
        activities=ctx.rows["activities"],
        rows=dict(ctx.rows),
        seconds=time.perf_counter() - started,
        search_index=_search_index_kind(),
        seed=seed,
        vendor=connection.vendor,
    )


def report(result: GenerateResult, console: Console) -> None:
    console.print(f"Bench data on {result.vendor} (seed {result.seed}):")
    table = Table(show_edge=False)
    table.add_column("rows")
    table.add_column("count", justify="right")
    for name, count in result.rows.items():
        table.add_row(name, f"{count:,}")
    console.print(table)
    total = sum(result.rows.values())
    console.print(
        f"Generated in [bold]{result.seconds:,.1f} s[/bold] ({total / result.seconds:,.0f} rows/s); "
        f"search index: {result.search_index}."
    )


# --- users, teams, clean-up -------------------------------------------------------------------------------


def _users_and_teams() -> tuple[list[User], dict[int, Team | None]]:
    """The bench's users and teams, created through the services the first time and reused afterwards."""
    users = {u.username: u for u in bench_users()}
    admin_name = BENCH_USER_PREFIX + "admin"
    with transaction.atomic():
        admin = users.get(admin_name) or user_create(
            by=None,
            username=admin_name,
            password=secrets.token_urlsafe(18),
            role=Role.ADMIN,
            scope=Scope.ALL,
            first_name="Bench",
            last_name="Admin",
        )
        users[admin_name] = admin
        teams = {}
        for name, description in TEAMS:
            teams[name] = Team.objects.filter(name__iexact=name).first() or team_create(
                by=admin, name=name, description=description
            )
        owners = []
        for suffix, first, last, role, team_names in USERS:
            username = BENCH_USER_PREFIX + suffix
            user = users.get(username) or user_create(
                by=admin,
                username=username,
                password=secrets.token_urlsafe(18),
                role=role,
                scope=Scope.ALL if role in (Role.ADMIN, Role.MANAGER) else Scope.TEAM,
                first_name=first,
                last_name=last,
                teams=[teams[t] for t in team_names],
            )
            owners.append(user)
    # party_create files a record under the owner's first team (by name) unless the owner sees everything.
    team_of = {u.pk: None if u.sees_all else u.teams.order_by("name").first() for u in owners}
    return owners, team_of


def _delete_bench_data(console: Console, count: int) -> None:
    with console.status(f"Deleting {count:,} bench parties and their history (--force)…"):
        ids = bench_parties().values("id")
        with transaction.atomic():
            DomainEvent.objects.filter(subject_type="party", subject_id__in=ids).delete()
            Activity.objects.filter(party_id__in=ids).delete()
            bench_parties().delete()


def _analyse() -> None:
    """Fresh planner statistics on PostgreSQL, as autovacuum would gather shortly after a bulk load.

    SQLite is left as a real installation has it: Friday never runs ANALYZE there.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _search_index_kind() -> str:
    if connection.vendor == "sqlite":
        return "FTS5 trigram (party_fts), kept by triggers during the load"
    return "pg_trgm GIN (party_search_trgm)"


def _check_normalised(ctx: _Ctx) -> None:
    """The generated emails and phones must be exactly what the services' normalisers store."""
    probe = _Ctx(
        rng=random.Random(0),
        now=ctx.now,
        owners=ctx.owners,
        owner_weights=ctx.owner_weights,
        team_of=ctx.team_of,
        tags=ctx.tags,
        extra_activities=[],
    )
    for _ in range(200):
        given, family = _person_name(probe.rng)
        for email in (_person_email(probe, given, family), _org_email(probe, f"{given} {family} Ltd")):
            if normalise.normalise_email(email) != email:
                raise BenchError(f"Generated email {email!r} is not normalised.")
        for phone in (_phone(probe, mobile=True), _phone(probe, mobile=False)):
            if normalise.normalise_phone(phone) != phone:
                raise BenchError(f"Generated phone {phone!r} is not valid E.164.")


# --- one batch --------------------------------------------------------------------------------------------


@dataclass
class _Plan:
    party: Party
    emails: list[str]
    phones: list[str]
    roles: list[str]
    tags: list[Tag]
    address: Address | None
    affiliation: tuple[int, str] | None
    activities: list[Activity]


def _write_batch(ctx: _Ctx, start: int, size: int) -> int:
    """Write `size` parties with their contact points, roles, tags and history. Returns the activities written."""
    plans = [_plan(ctx, i) for i in range(start, start + size)]
    Party.objects.bulk_create([p.party for p in plans])
    ctx.org_ids.extend(p.party.pk for p in plans if p.party.kind == PartyKind.ORGANISATION)

    emails, phones, roles, tags, addresses, affiliations = [], [], [], [], [], []
    for plan in plans:
        party = plan.party
        emails += [EmailAddress(party=party, address=e, is_primary=i == 0) for i, e in enumerate(plan.emails)]
        phones += [Phone(party=party, number=n, is_primary=i == 0) for i, n in enumerate(plan.phones)]
        roles += [PartyRole(party=party, role=r) for r in plan.roles]
        tags += [PartyTag(party=party, tag=t) for t in plan.tags]
        if plan.address is not None:
            plan.address.party = party
            addresses.append(plan.address)
        if (
            plan.affiliation is None
            and party.kind == PartyKind.PERSON
            and ctx.org_ids
            and ctx.rng.random() < 0.4
        ):
            plan.affiliation = (ctx.rng.choice(ctx.org_ids), ctx.rng.choice(words.JOB_TITLES))
        if plan.affiliation is not None:
            org_id, title = plan.affiliation
            affiliations.append(Affiliation(person=party, organisation_id=org_id, job_title=title))
    EmailAddress.objects.bulk_create(emails)
    Phone.objects.bulk_create(phones)
    PartyRole.objects.bulk_create(roles)
    PartyTag.objects.bulk_create(tags)
    Address.objects.bulk_create(addresses)
    Affiliation.objects.bulk_create(affiliations)

    activities = []
    for plan in plans:
        for activity in plan.activities:
            activity.party = plan.party
            activities.append(activity)
    Activity.objects.bulk_create(activities)

    events = []
    for plan in plans:
        party = plan.party
        events.append(
            DomainEvent(
                name="party.created",
                occurred_at=party.created_at,
                actor_id=party.created_by_id,
                subject_type="party",
                subject_id=party.pk,
                payload={"kind": party.kind, "roles": plan.roles},
            )
        )
        events += [
            DomainEvent(
                name="activity.logged",
                occurred_at=a.created_at,
                actor_id=a.author_id,
                subject_type="party",
                subject_id=party.pk,
                payload={"activity_id": a.pk, "kind": a.kind},
            )
            for a in plan.activities
            if a.kind != ActivityKind.SYSTEM
        ]
    DomainEvent.objects.bulk_create(events)

    ctx.rows.update(
        parties=len(plans),
        emails=len(emails),
        phones=len(phones),
        roles=len(roles),
        tags=len(tags),
        addresses=len(addresses),
        affiliations=len(affiliations),
        activities=len(activities),
        events=len(events),
    )
    return len(activities)


def _plan(ctx: _Ctx, index: int) -> _Plan:
    rng = ctx.rng
    owner = rng.choices(ctx.owners, weights=ctx.owner_weights)[0]
    created_at = ctx.now - SPAN * rng.random()
    is_person = rng.random() < 0.8
    if is_person:
        given, family = _person_name(rng)
        display = f"{given} {family}"
        emails = [_person_email(ctx, given, family)]
        if rng.random() < 0.3:
            emails.append(_person_email(ctx, given, family, work=True))
        phone_count = rng.choices([0, 1, 2], weights=[20, 55, 25])[0]
        phones = [_phone(ctx, mobile=i == 0) for i in range(phone_count)]
        roles: list[str] = [RoleName.CUSTOMER] if rng.random() < 0.75 else []
        if rng.random() < 0.03:
            roles.append(RoleName.EMPLOYEE)
    else:
        given = family = ""
        display = _org_name(rng)
        emails = [_org_email(ctx, display)]
        if rng.random() < 0.3:
            emails.append(_org_email(ctx, display, mailbox="accounts"))
        phone_count = rng.choices([0, 1, 2], weights=[10, 60, 30])[0]
        phones = [_phone(ctx, mobile=i == 1) for i in range(phone_count)]
        roles = []
        if rng.random() < 0.55:
            roles.append(RoleName.CUSTOMER)
        if rng.random() < 0.25:
            roles.append(RoleName.SUPPLIER)
        if rng.random() < 0.1:
            roles.append(RoleName.PARTNER)
    roles = sorted(roles)  # the services store the cleaned roles sorted
    tag_count = rng.choices([0, 1, 2, 3], weights=[40, 35, 17, 8])[0]
    tags = list(dict.fromkeys(_skewed(rng, ctx.tags) for _ in range(tag_count)))

    customer_since = None
    if RoleName.CUSTOMER in roles:
        created_day = created_at.astimezone(clock.business_tz()).date()
        # Most become customers the day they are added; some were customers long before (imported).
        customer_since = created_day - dt.timedelta(days=rng.randrange(0, 1800) if rng.random() < 0.3 else 0)
    birthday = None
    if is_person and rng.random() < 0.3:
        birthday = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 20000))

    kind = PartyKind.PERSON if is_person else PartyKind.ORGANISATION
    activities = [
        Activity(
            kind=ActivityKind.SYSTEM,
            event="party.created",
            subject=f"{kind.label} created",
            occurred_at=created_at,
            created_at=created_at,
            author_id=owner.pk,
            data={},
        )
    ]
    updated_at = created_at
    span = ctx.now - created_at
    for _ in range(ctx.extra_activities[index]):
        activity = _activity(ctx, owner, created_at + span * rng.random())
        activities.append(activity)
        updated_at = max(updated_at, activity.created_at)

    party = Party(
        kind=kind,
        given_name=given,
        family_name=family,
        display_name=display,
        sort_name=normalise.sort_key(display),
        birthday=birthday,
        customer_since=customer_since,
        owner=owner,
        team=ctx.team_of[owner.pk],
        email_consent=rng.random() < 0.4,
        do_not_contact=rng.random() < 0.02,
        notes=rng.choice(words.SENTENCES) if rng.random() < 0.1 else "",
        custom={},
        search_text=search_text_for(display, emails, phones),
        created_at=created_at,
        updated_at=updated_at,
        created_by=owner,
    )
    address = None
    if rng.random() < 0.3:
        city, area = rng.choice(words.CITIES)
        address = Address(
            line1=f"{rng.randrange(1, 240)} {rng.choice(words.STREETS)}",
            city=city,
            postcode=f"{area}{rng.randrange(1, 30)} {rng.randrange(1, 10)}{rng.choice('ABDEFGHJLNPQRSTUWXY')}{rng.choice('ABDEFGHJLNPQRSTUWXY')}",
            country="GB",
        )
    return _Plan(
        party=party,
        emails=emails,
        phones=phones,
        roles=roles,
        tags=tags,
        address=address,
        affiliation=None,
        activities=activities,
    )


def _activity(ctx: _Ctx, owner: User, occurred_at: dt.datetime) -> Activity:
    rng = ctx.rng
    kind = rng.choices(ACTIVITY_KINDS, weights=ACTIVITY_WEIGHTS)[0]
    subject = rng.choice(words.SUBJECTS[kind])
    body = " ".join(rng.sample(words.SENTENCES, rng.randrange(0 if subject else 1, 4)))
    # Logged as it happened, or written up a little later; never in the future.
    created_at = min(ctx.now, occurred_at + dt.timedelta(minutes=rng.randrange(0, 180)))
    author = owner if rng.random() < 0.8 else rng.choice(ctx.owners)
    return Activity(
        kind=kind,
        subject=subject,
        body=body,
        occurred_at=occurred_at,
        created_at=created_at,
        author_id=author.pk,
        event="",
        data={},
    )


# --- names, emails, phones --------------------------------------------------------------------------------


def _spread(rng: random.Random, parties: int, total: int) -> list[int]:
    """`total` activities over `parties` parties, skewed like real books: most have a few, some hundreds."""
    weights = [rng.lognormvariate(0, 1.2) for _ in range(parties)]
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    for i in rng.choices(range(parties), weights=weights, k=total - sum(counts)):
        counts[i] += 1
    return counts


@functools.cache
def _zipf(size: int) -> list[float]:
    """Cumulative weights 1/(rank + 10): the first item is ~4% of 150 picks, the last ~0.6%, like common names."""
    return list(itertools.accumulate(1 / (rank + 10) for rank in range(size)))


def _skewed(rng: random.Random, items: list[Any]) -> Any:
    """Earlier items are picked more often: a few popular names and tags, and a long tail."""
    return rng.choices(items, cum_weights=_zipf(len(items)))[0]


def _person_name(rng: random.Random) -> tuple[str, str]:
    return _skewed(rng, GIVEN_NAMES), _skewed(rng, FAMILY_NAMES)


def _org_name(rng: random.Random) -> str:
    suffix = rng.choice(words.ORG_SUFFIX)
    return " ".join(p for p in (rng.choice(words.ORG_FIRST), rng.choice(words.ORG_SECOND), suffix) if p)


def _ascii(value: str) -> str:
    return re.sub(r"[^a-z0-9]", "", normalise.sort_key(value).translate(FOLD))


def _unique(ctx: _Ctx, local: str, domain: str) -> str:
    key = f"{local}@{domain}"
    ctx.seen[key] += 1
    n = ctx.seen[key]
    return key if n == 1 else f"{local}{n}@{domain}"


def _person_email(ctx: _Ctx, given: str, family: str, *, work: bool = False) -> str:
    g, f = _ascii(given) or "x", _ascii(family) or "x"
    if work:
        return _unique(ctx, f"{g[0]}{f}", f"{ctx.rng.choice(words.ORG_FIRST).lower()}.example.com")
    return _unique(ctx, f"{g}.{f}", ctx.rng.choice(words.EMAIL_DOMAINS))


def _org_email(ctx: _Ctx, name: str, mailbox: str = "info") -> str:
    slug = "-".join(_ascii(w) for w in name.split() if _ascii(w))[:40] or "org"
    return _unique(ctx, mailbox, f"{slug}.example.com")


def _phone(ctx: _Ctx, *, mobile: bool) -> str:
    """Unique UK numbers (mobiles 07700 [01378]xxxxx, landlines in the exchanges of Ofcom's drama ranges)."""
    if mobile:
        n, ctx.mobiles = ctx.mobiles, ctx.mobiles + 1
        prefix = MOBILE_PREFIXES[(n // 100_000) % len(MOBILE_PREFIXES)]
        return f"{prefix}{n % 100_000:05d}"
    n, ctx.landlines = ctx.landlines, ctx.landlines + 1
    prefix = LANDLINE_PREFIXES[(n // 10_000) % len(LANDLINE_PREFIXES)]
    return f"{prefix}{n % 10_000:04d}"
