"""The guide's own steps: the business, its terms, its main process, its team, its contacts, its starter rules.
The strategy app registers "goals" itself (order 70)."""

from __future__ import annotations

from friday.setup.steps import register_step


def business_done() -> bool:
    """A person has saved the business (the row the first read copies from the environment is nobody's)."""
    from friday.core.models import Business

    return Business.objects.filter(pk=1, updated_by__isnull=False).exists()


def business_summary() -> str:
    from friday.core import business

    info = business.current()
    return f"{info.name} · {info.time_zone} · {info.currency} · {info.region}"


def terms_done() -> bool:
    from friday.processes.models import Term

    return Term.objects.exists()


def terms_summary() -> str:
    from friday.processes.models import Term

    n = Term.objects.count()
    return f"{n} term{'' if n == 1 else 's'} in the glossary"


def process_done() -> bool:
    from friday.processes.models import Process

    return Process.objects.filter(current__isnull=False).exists()


def process_summary() -> str:
    from friday.processes.models import Process

    names = list(
        Process.objects.filter(current__isnull=False).order_by("name").values_list("name", flat=True)[:3]
    )
    return ", ".join(names) + " published" if names else "No process published yet"


def team_done() -> bool:
    from friday.accounts.models import User

    return User.objects.filter(is_active=True).count() >= 2


def team_summary() -> str:
    from friday.accounts.models import User

    n = User.objects.filter(is_active=True).count()
    return f"{n} user{'' if n == 1 else 's'} can sign in"


def contacts_done() -> bool:
    from friday.parties.models import Party

    return Party.objects.exists()


def contacts_summary() -> str:
    from friday.parties.models import Party

    return "Contacts are in" if Party.objects.exists() else "No contacts yet"


def rules_done() -> bool:
    from friday.automation.models import Rule

    return Rule.objects.filter(enabled=True).exists()


def rules_summary() -> str:
    from friday.automation.models import Rule

    n = Rule.objects.filter(enabled=True).count()
    return f"{n} rule{'' if n == 1 else 's'} switched on"


def goals_done() -> bool:
    from friday.strategy.selectors import goals_exist

    return goals_exist()


def goals_summary() -> str:
    from friday.strategy.selectors import goal_list

    n = goal_list().count()
    return f"{n} goal{'' if n == 1 else 's'}"


def register() -> None:
    register_step(
        "business",
        "Your business",
        order=10,
        url="setup:business",
        done=business_done,
        summary=business_summary,
        why="Its name goes on every email and invoice; its time zone decides what “today” is.",
    )
    register_step(
        "terms",
        "Your words",
        order=20,
        url="setup:terms",
        done=terms_done,
        summary=terms_summary,
        why="One meaning for each word everyone uses: when is someone a customer, a repeat customer?",
    )
    register_step(
        "process",
        "Your main process",
        order=30,
        url="setup:process",
        done=process_done,
        summary=process_summary,
        why="The steps a customer or a job goes through, drawn and checked.",
    )
    register_step(
        "team",
        "Your team",
        order=40,
        url="setup:team",
        done=team_done,
        summary=team_summary,
        why="Who signs in, and what each person may see and change.",
    )
    register_step(
        "contacts",
        "Your contacts",
        order=50,
        url="setup:contacts",
        done=contacts_done,
        summary=contacts_summary,
        why="Bring in your customers from a spreadsheet or address book.",
    )
    register_step(
        "rules",
        "Three starter rules",
        order=60,
        url="setup:rules",
        done=rules_done,
        summary=rules_summary,
        why="Birthdays, check-ins and job notices, each shown before it is switched on.",
    )
    register_step(
        "goals",
        "Your first goals",
        order=70,
        url="setup:goals",
        done=goals_done,
        summary=goals_summary,
        why="A few measurable goals, each tied to a figure Friday keeps — the strategy the rest serves.",
    )
