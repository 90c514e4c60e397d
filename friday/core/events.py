"""Emitting domain events: rows written inside the caller's transaction, never messages sent before commit."""

from __future__ import annotations

from typing import Any

from django.db import models, transaction

from friday.core import clock
from friday.core.models import DomainEvent


def event_emit(
    *, name: str, subject: models.Model, actor: Any = None, payload: dict | None = None
) -> DomainEvent:
    """Record `name` for `subject`. Must be called inside the service's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"event_emit({name!r}) outside a transaction: call it from a service")
    return DomainEvent.objects.create(
        name=name,
        occurred_at=clock.now(),
        actor=actor if getattr(actor, "pk", None) else None,
        subject_type=subject._meta.model_name or "",
        subject_id=subject.pk,
        payload=payload or {},
    )
