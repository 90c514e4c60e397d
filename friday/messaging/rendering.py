"""Message templates are written by users, so they run in Jinja's immutable sandbox, on an allowlisted context,
with limits: output size, time, loop nesting, `range` length and the size of `*` and `**` results.

- The context is plain data (dicts, strings, numbers, dates) built by `message_context`: no model, no manager,
  no method a template could walk from. The sandbox already refuses `__class__`, `format_map`, `mro` and the
  rest of the attribute walks; the context gives it nothing to walk to.
- `check` reads a template without rendering it: syntax errors with their line, every variable and attribute
  that the context does not have (with the nearest name that it does), and loops nested more than twice.
- `render` stops with `RenderRefused` when the output passes MAX_OUTPUT characters or the render passes
  MAX_SECONDS (counted at every call, attribute and item lookup, and loop step through `range`).
"""

from __future__ import annotations

import difflib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from friday.core.errors import FridayError

MAX_OUTPUT = 100_000  # characters of one rendered part
MAX_SECONDS = 0.5
MAX_RANGE = 1000
MAX_LOOP_NESTING = 2
MAX_REPEAT = 10_000  # the longest string or list `*` may make
MAX_SOURCE = 50_000  # characters of one template part
# Methods a message has no use for and the sandbox's escapes go through.
UNSAFE_METHODS = {"format", "format_map", "mro", "append", "update", "pop", "clear", "setdefault", "insert"}

# What a template may use: top-level names, and for each, the attributes it has ("*": any key, e.g. custom
# fields, whose keys the business defines). Nested dicts describe nested objects.
SCHEMA: dict[str, Any] = {
    "party": {
        "name": None,
        "first_name": None,
        "last_name": None,
        "kind": None,
        "email": None,
        "phone": None,
        "birthday": None,
        "customer_since": None,
        "age": None,
        "years_as_customer": None,
        "city": None,
        "owner": {"name": None, "first_name": None, "email": None},
        "custom": "*",
    },
    "record": "*",
    "business": {"name": None, "email": None, "phone": None, "website": None},
    "links": "*",
    "today": None,
    "now": None,
}


class RenderRefused(FridayError):
    code = "template.refused"
    status = 422


@dataclass(frozen=True)
class Problem:
    part: str  # subject, body_text, body_html
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.part}{f', line {self.line}' if self.line else ''}: {self.message}"


_state = threading.local()
MAX_CALL_DEPTH = 50


def _tick() -> None:
    deadline = getattr(_state, "deadline", None)
    if deadline is not None and time.monotonic() > deadline:
        raise RenderRefused(
            f"The template took longer than {MAX_SECONDS:g} s to render.", code="template.too_slow"
        )


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _tick()
        if operator == "**" and (abs(_number(right)) > 64 or abs(_number(left)) > 10**6):
            raise RenderRefused("A power that large is not allowed in a template.", code="template.too_big")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                repeats = isinstance(seq, (str, list, tuple)) and isinstance(times, int)
                if repeats and len(seq) * max(times, 0) > MAX_REPEAT:
                    raise RenderRefused(
                        "That repetition is too long for a template.", code="template.too_big"
                    )
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        # Calls nested this deep are a macro calling itself: refused at once, not after the time limit (which a
        # busy machine reaches before Python's own recursion limit).
        depth = getattr(_state, "depth", 0)
        if depth >= MAX_CALL_DEPTH:
            raise RenderRefused(
                f"Calls nested more than {MAX_CALL_DEPTH} deep (a macro calling itself?).",
                code="template.error",
            )
        _tick()
        _state.depth = depth + 1
        try:
            return super().call(__context, __obj, *args, **kwargs)
        finally:
            _state.depth = depth

    def getattr(self, obj: Any, attribute: str) -> Any:
        _tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _tick()
        return super().getitem(obj, argument)


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) else 0.0


def _range(*args: int) -> Iterator[int]:
    values = range(*args)
    if len(values) > MAX_RANGE:
        raise RenderRefused(f"range() in a template counts to at most {MAX_RANGE}.", code="template.too_big")
    for value in values:
        _tick()
        yield value


def _environment(*, html: bool) -> _Environment:
    # An empty value (no age, no city) prints as nothing, never as "None"; `{{ x or 'friend' }}` gives a word.
    env = _Environment(
        undefined=StrictUndefined,
        autoescape=html,
        keep_trailing_newline=True,
        finalize=lambda value: "" if value is None else value,
    )
    # Only harmless helpers: no `dict`, `lipsum`, `cycler`, `joiner`, `namespace`.
    env.globals = {"range": _range}
    return env


TEXT_ENV = _environment(html=False)
HTML_ENV = _environment(html=True)


def _parse(part: str, source: str, problems: list[Problem]) -> nodes.Template | None:
    if len(source) > MAX_SOURCE:
        problems.append(Problem(part, None, f"A template part has at most {MAX_SOURCE:,} characters."))
        return None
    try:
        return TEXT_ENV.parse(source)
    except TemplateSyntaxError as exc:
        problems.append(Problem(part, exc.lineno, f"not a valid template: {exc.message}"))
        return None


def _suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" Did you mean {close[0]!r}?" if close else f" Available: {', '.join(sorted(known))}."


def check(parts: dict[str, str]) -> list[Problem]:
    """Every problem of a template's parts, without rendering: syntax, unknown names, deep loops."""
    problems: list[Problem] = []
    for part, source in parts.items():
        tree = _parse(part, source, problems)
        if tree is None:
            continue
        local = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
        reported: set[str] = set()
        for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
            attr: Any = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)  # type: ignore[attr-defined]
            if isinstance(attr, str) and (attr.startswith("_") or attr in UNSAFE_METHODS):
                unsafe = f"{attr!r} is not allowed in a message."
                if unsafe not in reported:
                    reported.add(unsafe)
                    problems.append(Problem(part, node.lineno, unsafe))
        for node in tree.find_all(nodes.Filter):
            if node.name == "attr":
                problems.append(Problem(part, node.lineno, "The attr filter is not allowed in a message."))
        for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Name)):
            path = _path(node)
            if not path or path[0] in local or path[0] == "range":
                continue
            problem = _unknown(path)
            if problem and problem not in reported:  # pary.name and pary are one problem
                reported.add(problem)
                problems.append(Problem(part, node.lineno, problem))
        depth = _loop_depth(tree)
        if depth > MAX_LOOP_NESTING:
            problems.append(
                Problem(
                    part,
                    None,
                    f"Loops are nested {depth} deep; a template may nest at most {MAX_LOOP_NESTING}.",
                )
            )
    return problems


def _path(node: nodes.Node) -> list[str] | None:
    """["party", "owner", "name"] for party.owner.name (or party["owner"]["name"]); None for other shapes."""
    out: list[str] = []
    while True:
        if isinstance(node, nodes.Getattr):
            out.append(node.attr)
            node = node.node
        elif (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str)
        ):
            out.append(node.arg.value)
            node = node.node
        elif isinstance(node, nodes.Name):
            out.append(node.name)
            return list(reversed(out))
        else:
            return None


def _unknown(path: list[str]) -> str | None:
    schema: Any = SCHEMA
    for i, name in enumerate(path):
        if schema == "*":
            return None
        if not isinstance(schema, dict):
            return f"{'.'.join(path[:i])} has no {name!r}."
        if name not in schema:
            where = ".".join(path[:i])
            if not where:
                return f"{name!r} is not available in a message.{_suggest(name, list(schema))}"
            return f"{where}.{name} is not available.{_suggest(name, list(schema))}"
        schema = schema[name]
    return None


def _loop_depth(node: nodes.Node, depth: int = 0) -> int:
    deepest = depth
    for child in node.iter_child_nodes():
        inner = depth + 1 if isinstance(child, nodes.For) else depth
        deepest = max(deepest, _loop_depth(child, inner))
    return deepest


def render(source: str, context: dict[str, Any], *, html: bool = False, part: str = "body_text") -> str:
    """Render one part. RenderRefused (with the part as the field) on any error or limit."""
    env = HTML_ENV if html else TEXT_ENV
    _state.deadline = time.monotonic() + MAX_SECONDS
    try:
        template = env.from_string(source)
        out: list[str] = []
        size = 0
        for chunk in template.generate(**context):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise RenderRefused(
                    f"The message would be longer than {MAX_OUTPUT:,} characters.", code="template.too_big"
                )
            out.append(chunk)
            _tick()
        return "".join(out)
    except RenderRefused as exc:
        exc.field = part
        raise
    except TemplateSyntaxError as exc:
        raise RenderRefused(f"line {exc.lineno}: {exc.message}", code="template.syntax", field=part) from exc
    except UndefinedError as exc:
        raise RenderRefused(f"{exc.message}", code="template.undefined", field=part) from exc
    except SecurityError as exc:
        raise RenderRefused(f"Not allowed in a template: {exc}", code="template.unsafe", field=part) from exc
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError, RecursionError) as exc:
        raise RenderRefused(f"The template failed: {exc}", code="template.error", field=part) from exc
    finally:
        _state.deadline = None
