"""User templates (alert titles, bodies, links) rendered in Jinja's sandbox.

Templates come from search authors and render fields of log documents, so both
are untrusted: the sandbox blocks attribute tricks, output is capped, and a
template can never reach the database or the network.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, Undefined
from jinja2.nodes import Template as TemplateNode
from jinja2.sandbox import SandboxedEnvironment

from bot.errors import InvalidInput

MAX_OUTPUT = 20_000  # characters; Slack would cut longer texts anyway
MAX_SOURCE = 10_000


def _environment(undefined: type[Undefined]) -> SandboxedEnvironment:
    # autoescape is off: the output is plain text, escaped for mrkdwn by the Slack layer.
    env = SandboxedEnvironment(autoescape=False, undefined=undefined)
    env.filters["default_if_none"] = lambda value, fallback="": fallback if value is None else value
    return env


_ENV = _environment(Undefined)  # a missing field renders as "", as log fields often are absent
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
    return None


def render_template(source: str, context: dict[str, Any], *, strict: bool = False) -> str:
    """Render ``source`` with ``context`` in the sandbox; errors raise InvalidInput."""
    problem = check_template(source)
    if problem:
        raise InvalidInput(f"template error: {problem}", field="template")
    try:
        output = _compiled(source, strict).render(context)
    except TemplateError as exc:  # includes SecurityError from the sandbox
        raise InvalidInput(f"template error: {exc}", field="template") from None
    except Exception as exc:  # a filter on the wrong type, a division by zero...
        raise InvalidInput(
            f"template error: {type(exc).__name__}: {exc}", field="template"
        ) from None
    if len(output) > MAX_OUTPUT:
        output = output[: MAX_OUTPUT - 1] + "…"
    return output
