"""User templates (alert titles, bodies, links) rendered in Jinja's sandbox.

Templates come from search authors and render fields of log documents, so both
are untrusted: the sandbox blocks attribute tricks, a work budget
(``bot/text/template_budget.py``) refuses abusive templates at save and bounds every
render in time and size, and a template can never reach the database or the network.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, Undefined
from jinja2.nodes import Template as TemplateNode

from bot.errors import InvalidInput
from bot.text.template_budget import (
    BudgetedEnvironment,
    bounded_output,
    budget_problem,
    end_budget,
    guarded_context,
    start_budget,
)

MAX_SOURCE = 10_000

# When the search's run must be over (time.monotonic()); renders stop then at the latest.
_RUN_DEADLINE: ContextVar[float] = ContextVar("run_deadline", default=float("inf"))


# Names a render printed but the context did not have; set only while a caller asks for them.
_MISSING: ContextVar[list[str] | None] = ContextVar("template_missing", default=None)


class RecordingUndefined(Undefined):
    """Renders as "" like Jinja's default, and notes the name when a caller collects them.

    ``{{ x | default('-') }}`` and ``{% if x %}`` are checks, not uses: they record nothing.
    """

    __slots__ = ()

    def __str__(self) -> str:
        missing = _MISSING.get()
        if missing is not None:
            message = self._missing_message()
            if message not in missing:
                missing.append(message)
        return ""

    def _missing_message(self) -> str:
        path_of = getattr(self._undefined_obj, "_path_of", None)
        if callable(path_of) and isinstance(self._undefined_name, str):
            return f"{path_of(self._undefined_name)!r} is undefined"  # the full dotted path
        return self._undefined_message


def _environment(undefined: type[Undefined]) -> BudgetedEnvironment:
    # autoescape is off: the output is plain text, escaped for mrkdwn by the Slack layer.
    env = BudgetedEnvironment(autoescape=False, undefined=undefined)
    env.filters["default_if_none"] = lambda value, fallback="": fallback if value is None else value
    return env


_ENV = _environment(
    RecordingUndefined
)  # a missing field renders as "", as log fields often are absent
_STRICT_ENV = _environment(StrictUndefined)


@lru_cache(maxsize=4096)
def _compiled(source: str, strict: bool) -> Any:
    env = _STRICT_ENV if strict else _ENV
    return env.from_string(source)


def check_template(source: str) -> str | None:
    """None if ``source`` compiles, else a one-line reason."""
    if len(source) > MAX_SOURCE:
        return f"a template may be at most {MAX_SOURCE} characters"
    try:
        node: TemplateNode = _ENV.parse(source)
        _ENV.compile(node)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        return f"{exc.message or exc}{where}"
    return budget_problem(node)


@contextmanager
def run_deadline(seconds: float) -> Iterator[None]:
    """Renders inside this block end at the latest ``seconds`` from now: the search's
    timeout covers its whole run, rendering included."""
    token = _RUN_DEADLINE.set(time.monotonic() + max(0.0, seconds))
    try:
        yield
    finally:
        _RUN_DEADLINE.reset(token)


def render_template(
    source: str,
    context: dict[str, Any],
    *,
    strict: bool = False,
    missing: list[str] | None = None,
) -> str:
    """Render ``source`` with ``context`` in the sandbox; errors raise InvalidInput.

    With ``missing``, each undefined name the output printed (rendered as "") is
    appended to it as "'user.nam' is undefined", so a typo is visible, not silent.
    """
    problem = check_template(source)
    if problem:
        raise InvalidInput(f"template error: {problem}", field="template")
    compiled = _compiled(source, strict)
    token = _MISSING.set(missing)
    budget = start_budget(_RUN_DEADLINE.get())
    try:
        output = bounded_output(compiled.generate(guarded_context(context)))
    except TemplateError as exc:  # includes SecurityError from the sandbox
        raise InvalidInput(f"template error: {exc}", field="template") from None
    except Exception as exc:  # a filter on the wrong type, a division by zero...
        raise InvalidInput(
            f"template error: {type(exc).__name__}: {exc}", field="template"
        ) from None
    finally:
        end_budget(budget)
        _MISSING.reset(token)
    return output
