"""Inserting and updating many rows with `executemany`: for bulk writes (imports) where Django's `bulk_create`
spends more time building model instances and compiling multi-row SQL than the database spends writing.

Values go through the same adapters Django uses (JSON, dates, times), so what is stored is identical; only the
per-row Python work is skipped. Ids for new rows are reserved up front — PostgreSQL from the table's sequence,
SQLite from the highest id under the write lock that IMMEDIATE transactions hold — so the caller can link rows
to each other without reading anything back.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection, models, transaction

# A long run of big write transactions (an import, its undo) on SQLite: a bigger page cache keeps the party
# table's ten indexes and the search index in memory, and the write-ahead log is copied back into the database
# every 64 MB instead of every 4 MB — by default each 5,000-row batch's commit ran a checkpoint of ~0.1 s.
# Measured on 100k rows against 100k parties: 4.4k → 4.9k rows/s.
BULK_CACHE_KIB = 65536
BULK_CHECKPOINT_PAGES = 16384


@contextmanager
def bulk_session() -> Iterator[None]:
    """Settings for many big write transactions: Python's cyclic garbage collector paused (the caller calls
    `collect_young` between batches), and on SQLite a bigger page cache and rarer checkpoints — all restored
    afterwards (the connection and the process are kept between a worker's tasks), the log checkpointed at the
    end."""
    with _collector_paused():
        if connection.vendor != "sqlite":
            yield
            return
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            cache = int(cursor.fetchone()[0])
            cursor.execute("PRAGMA wal_autocheckpoint")
            every = int(cursor.fetchone()[0])
            cursor.execute(f"PRAGMA cache_size = {-BULK_CACHE_KIB}")
            cursor.execute(f"PRAGMA wal_autocheckpoint = {BULK_CHECKPOINT_PAGES}")
        try:
            yield
        finally:
            if connection.connection is not None:  # still the same connection (an error may have closed it)
                with connection.cursor() as cursor:
                    cursor.execute(f"PRAGMA cache_size = {cache}")
                    cursor.execute(f"PRAGMA wal_autocheckpoint = {every}")
                    if not connection.in_atomic_block:
                        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")


# Python's cyclic garbage collector runs after every 700 new container objects, and every so often it walks
# every object the process holds — Django's and the batch's. A batch of 5,000 rows makes hundreds of thousands
# of short-lived tuples, lists and dicts (rows, values, unpickled results), which set it off again and again:
# on a 100k-row import it took a third of the writer's time (16.7 → 11.4 s). Nothing a batch makes is kept
# past it, so the collector is paused for the whole run and the young objects are collected between batches
# (`collect_young`), which keeps memory as flat as before (a reference cycle lives a few batches at most).


@contextmanager
def _collector_paused() -> Iterator[None]:
    if not gc.isenabled():  # already paused (a nested session): the outer one restores it
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


def collect_young() -> None:
    """Between batches of a `bulk_session`: free the reference cycles the last ones left. Only objects made since
    the previous call are looked at: an import's call costs ~13 ms (what the batches in flight hold)."""
    gc.collect(1)


def _columns(model: type[models.Model], fields: Sequence[str]) -> list[models.Field]:
    out = []
    for name in fields:
        field = model._meta.get_field(name)
        if not isinstance(field, models.Field):
            raise ValueError(f"{name} is not a column of {model.__name__}")
        out.append(field)
    return out


def _last_one(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`fn` remembering its last answer: a batch's rows share their timestamps, adapted once."""
    last: list[Any] = [object(), None]

    def adapt(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, fn(value)
        return last[1]

    return adapt


def _adapter(field: models.Field) -> Callable[[Any], Any] | None:
    ops = connection.ops
    if isinstance(field, models.JSONField):
        empty = ops.adapt_json_value({}, field.encoder)  # most rows' custom fields, most import records

        def adapt_json(value: Any) -> Any:
            if type(value) is dict and not value:
                return empty
            return ops.adapt_json_value(value, field.encoder)

        return adapt_json
    if isinstance(field, models.DateTimeField):
        return _last_one(ops.adapt_datetimefield_value)
    if isinstance(field, models.DateField):
        return ops.adapt_datefield_value
    if isinstance(field, models.DecimalField):
        return lambda v: ops.adapt_decimalfield_value(v, field.max_digits, field.decimal_places)
    return None


def _adapted(columns: list[models.Field], rows: Sequence[Sequence[Any]]) -> Sequence[Sequence[Any]]:
    """The rows with the values of the columns that need it (JSON, dates, times) adapted for the database."""
    adapters = [(i, a) for i, c in enumerate(columns) if (a := _adapter(c)) is not None]
    if not adapters:
        return rows
    out = []
    for row in rows:
        values = list(row)
        for i, adapt in adapters:
            if values[i] is not None:
                values[i] = adapt(values[i])
        out.append(values)
    return out


def insert_rows(model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """INSERT these rows (tuples in the order of `fields`; foreign keys by their `_id` attribute)."""
    if not rows:
        return
    opts = model._meta
    columns = _columns(model, fields)
    quote = connection.ops.quote_name
    # Table and column names come from the model, quoted; every value is a parameter.
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
        quote(opts.db_table),
        ", ".join(quote(str(c.column)) for c in columns),
        ", ".join(["%s"] * len(columns)),
    )
    rows = _adapted(columns, rows)
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def update_rows(model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """UPDATE … SET fields WHERE id = …: each row is (*values in the order of `fields`, id)."""
    if not rows:
        return
    opts = model._meta
    columns = _columns(model, fields)
    quote = connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(  # noqa: S608
        quote(opts.db_table),
        ", ".join(f"{quote(str(c.column))} = %s" for c in columns),
        quote(str(opts.pk.column if opts.pk else "id")),
    )
    rows = _adapted(columns, rows)
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def upsert_rows(
    model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]], *, unique: str
) -> None:
    """INSERT these rows, or UPDATE every other field of the row that already has the same `unique` value
    (INSERT … ON CONFLICT … DO UPDATE: one statement on both SQLite and PostgreSQL). `unique` is one of `fields`
    and must carry a unique constraint (or be the primary key)."""
    if not rows:
        return
    opts = model._meta
    columns = _columns(model, fields)
    quote = connection.ops.quote_name
    names = [quote(str(c.column)) for c in columns]
    key = quote(str(_columns(model, [unique])[0].column))
    sql = "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}".format(  # noqa: S608
        quote(opts.db_table),
        ", ".join(names),
        ", ".join(["%s"] * len(columns)),
        key,
        ", ".join(f"{name} = excluded.{name}" for name in names if name != key),
    )
    rows = _adapted(columns, rows)
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """`count` ids that no other row has or will get. Must be called inside the transaction that inserts them."""
    if count <= 0:
        return []
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("reserve_ids outside a transaction")
    table = model._meta.db_table
    column = str(model._meta.pk.column if model._meta.pk else "id")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, column, count],
            )
            return [row[0] for row in cursor.fetchall()]
        if connection.vendor == "sqlite":
            # The write lock is held from BEGIN IMMEDIATE: nobody else can take an id meanwhile. AUTOINCREMENT
            # never reuses an id, not even a deleted one: start above its counter too.
            cursor.execute(f"SELECT COALESCE(MAX({connection.ops.quote_name(column)}), 0) FROM {table}")  # noqa: S608
            highest = cursor.fetchone()[0]
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            found = cursor.fetchone()
            start = max(highest, found[0] if found else 0) + 1
            return list(range(start, start + count))
    raise NotImplementedError(f"reserve_ids on {connection.vendor}")
