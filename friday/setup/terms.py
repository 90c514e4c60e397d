"""The service-business glossary the guide starts from: the customer lifecycle's stages, and a few everyday words.
Every definition is a suggestion to edit before it is added."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TemplateTerm:
    name: str
    definition: str


EXTRA = [
    TemplateTerm("Job", "A piece of work we do for a client, from the first booking to the paid invoice."),
    TemplateTerm("Quote", "A written price for a job, valid for 30 days, that the client can accept."),
    TemplateTerm("Callout", "A visit to a client's site at short notice, charged at the callout rate."),
    TemplateTerm(
        "Active customer", "A customer with a paid job or a conversation in the last twelve months."
    ),
]


def service_business_terms() -> list[TemplateTerm]:
    """The lifecycle template's stages (their definitions, as the template writes them), then the extra words."""
    from friday.processes.templates import starter

    stages = [TemplateTerm(s.name, s.definition) for s in starter("lifecycle").stages if s.definition.strip()]
    return [*stages, *EXTRA]
