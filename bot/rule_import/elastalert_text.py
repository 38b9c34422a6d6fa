"""ElastAlert2 ``alert_subject`` / ``alert_text`` with their args -> 411's Jinja templates.

ElastAlert fills ``{}``, ``{0}`` or ``{name}`` (with ``alert_text_kw``) by Python's
``str.format`` with values looked up in the match, falling back to the rule's own
setting of that name, else ``<MISSING VALUE>``. Each placeholder becomes
``{{ fields['arg'] | default(...) }}``; literal text is kept verbatim (inside
``{% raw %}`` if it holds Jinja markers). A few names of ElastAlert's match fields
are called differently in 411 (``renames``), e.g. ``metric_agg_value`` -> ``value``.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping, Sequence
from typing import Any

MISSING = "<MISSING VALUE>"
LINK_ARGS = frozenset({"kibana_discover_url", "kibana_link", "opensearch_discover_url"})
_JINJA_MARKERS = ("{{", "}}", "{%", "%}", "{#", "#}")
# A body that lists the document's fields, as ElastAlert's default alert text does.
FIELDS_LISTING = "{% for name, value in fields.items() %}\n{{ name }}: {{ value }}{% endfor %}"


class TextError(ValueError):
    pass


def format_template(
    text: str,
    args: Sequence[Any] | Mapping[str, Any] | None,
    rule: Mapping[str, Any],
    renames: Mapping[str, str],
    missing: str = MISSING,
) -> str:
    """``text`` as ElastAlert formats it with ``args`` (a list, or alert_text_kw's mapping)."""
    if args is None:
        return _literal(text)
    positional = list(args) if not isinstance(args, Mapping) else []
    by_name = {str(v): str(k) for k, v in args.items()} if isinstance(args, Mapping) else {}
    out: list[str] = []
    auto = 0
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise TextError(f"is not a valid format string: {exc}") from None
    pending = ""  # literal text up to the next placeholder ({{ and }} arrive in pieces)
    for literal, name, spec, conversion in parsed:
        pending += literal
        if name is None:
            continue
        out.append(_literal(pending))
        pending = ""
        if name == "":
            name, auto = str(auto), auto + 1
        arg = _arg(name, positional, by_name)
        out.append(_placeholder(arg, spec or "", conversion, rule, renames, missing))
    out.append(_literal(pending))
    return "".join(out)


def jinja_text(text: str, root_name: str) -> str:
    """``alert_text_jinja``: Jinja already; ElastAlert's root name for all fields is ``fields``."""
    return text.replace(f"{root_name}[", "fields[").replace(f"{root_name}.", "fields.")


def _arg(name: str, positional: list[Any], by_name: Mapping[str, str]) -> str:
    if name.isdigit():
        index = int(name)
        if index >= len(positional):
            raise TextError(f"uses {{{index}}} but only {len(positional)} args are given")
        return str(positional[index])
    if name not in by_name:
        raise TextError(f"uses {{{name}}}, which alert_text_kw does not define")
    return by_name[name]


def _placeholder(
    arg: str,
    spec: str,
    conversion: str | None,
    rule: Mapping[str, Any],
    renames: Mapping[str, str],
    missing: str,
) -> str:
    if arg in LINK_ARGS:
        return "{{ result_link | default(" + json.dumps(missing) + ", true) }}"
    field = renames.get(arg, arg)
    fallback = rule.get(arg)
    default = json.dumps(fallback if isinstance(fallback, str | int | float) else missing)
    value = f"fields[{json.dumps(field)}] | default({default})"
    if spec:
        return "{{ " + json.dumps("{:" + spec + "}") + f".format({value}) }}}}"
    if conversion == "r":
        return "{{ (" + value + ") | tojson }}"
    return "{{ " + value + " }}"


def _literal(text: str) -> str:
    # Any brace may join a neighbouring placeholder's into a Jinja marker: keep it verbatim.
    if "{" in text or "}" in text or any(marker in text for marker in _JINJA_MARKERS):
        return "{% raw %}" + text + "{% endraw %}"
    return text
