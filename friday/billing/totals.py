"""Invoice arithmetic, in Decimal only: each line's net is quantity × unit price rounded half up to the currency's
minor unit; the tax of each rate is the sum of that rate's nets × rate / 100, rounded half up once; the total is
the nets plus the taxes. (Rounding tax per rate, not per line, is what most tax authorities accept and keeps a
long invoice from drifting by a penny per line.) See docs/billing.md for worked examples."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from friday.core.money import round_money

HUNDRED = Decimal(100)


def line_net(quantity: Decimal, unit_price: Decimal, currency: str) -> Decimal:
    """3 × 0.335 = 1.005 → 1.01 (half up), in the currency's minor unit (JPY: whole yen)."""
    return round_money(quantity * unit_price, currency)


@dataclass
class TaxBand:
    rate: Decimal
    net: Decimal
    tax: Decimal


@dataclass
class Totals:
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    bands: list[TaxBand] = field(default_factory=list)


def totals_of(lines: Iterable[tuple[Decimal, Decimal]], currency: str) -> Totals:
    """Totals of lines given as (net, tax rate %): the tax is worked out per rate, highest rate first."""
    by_rate: dict[Decimal, Decimal] = {}
    for net, rate in lines:
        key = rate.normalize() if rate else Decimal(0)
        by_rate[key] = by_rate.get(key, Decimal(0)) + net
    bands = [
        TaxBand(rate=rate, net=net, tax=round_money(net * rate / HUNDRED, currency))
        for rate, net in sorted(by_rate.items(), key=lambda item: -item[0])
    ]
    zero = round_money(Decimal(0), currency)
    subtotal = sum((b.net for b in bands), zero)
    tax = sum((b.tax for b in bands), zero)
    return Totals(subtotal=subtotal, tax=tax, total=subtotal + tax, bands=bands)
