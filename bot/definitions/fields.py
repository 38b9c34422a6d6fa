"""Field converters of search definitions: human forms in, typed values out.

Each raises ValueError (or TypeError) with a message fit for the user; the
definition parser attaches the field name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.models.enums import ConditionOp, Priority
from searches.durations import parse_duration

NAME_MAX = 200
_ID_LIKE = re.compile(r"^[^\s]{1,64}$")
_CONDITION = re.compile(
    r"^\s*(?:count\s*)?(>=|<=|==|=|>|<|gte|gt|lte|lt|eq)\s*(-?\d+)\s*$", re.IGNORECASE
)
_OP_SYMBOLS = {
    ">": ConditionOp.GT,
    ">=": ConditionOp.GTE,
    "<": ConditionOp.LT,
    "<=": ConditionOp.LTE,
    "=": ConditionOp.EQ,
    "==": ConditionOp.EQ,
}


def as_text(value: Any) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValueError("must be text")
    return str(value)


def as_optional_text(value: Any) -> str | None:
    return as_text(value).strip() or None


def as_name(value: Any) -> str:
    text = as_text(value).strip()
    if not text:
        raise ValueError("must not be empty")
    if len(text) > NAME_MAX or "\n" in text:
        raise ValueError(f"must be one line of at most {NAME_MAX} characters")
    if text.isdigit():
        raise ValueError("must not be only digits (it would read as a search id)")
    return text


def as_word(value: Any) -> str:
    text = as_text(value).strip()
    if not _ID_LIKE.match(text):
        raise ValueError("must be one word without spaces")
    return text


def as_identifier(value: Any) -> str | None:
    text = as_text(value).strip()
    return as_word(text) if text else None


def as_mapping(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError("must be a mapping of settings")
    return dict(value)


def as_word_list(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError("must be a list (or comma-separated text)")
    words = tuple(as_text(item).strip() for item in items)
    return tuple(w for w in words if w)


def as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("must be a whole number")
    try:
        return int(str(value).strip())
    except ValueError:
        raise ValueError(f"must be a whole number, not {value!r}") from None


def as_positive_int(value: Any) -> int:
    number = as_int(value)
    if number < 1:
        raise ValueError("must be at least 1")
    return number


def as_positive_duration(value: Any) -> int:
    seconds = parse_duration(value)
    if seconds < 1:
        raise ValueError("must be longer than zero")
    return seconds


def as_timeout(value: Any) -> int:
    seconds = as_positive_duration(value)
    if seconds > 3600:
        raise ValueError("must be at most 1h")
    return seconds


def as_optional_duration(value: Any) -> int | None:
    if isinstance(value, str) and value.strip().lower() in ("", "never", "off", "none", "no"):
        return None
    if value is False:
        return None
    seconds = parse_duration(value)
    return seconds or None


def as_priority(value: Any) -> Priority:
    text = as_text(value).strip().lower()
    try:
        return Priority(text)
    except ValueError:
        raise ValueError(f"must be one of {', '.join(p.value for p in Priority)}") from None


def as_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    raise ValueError("must be true or false")


def as_condition_op(value: Any) -> ConditionOp:
    text = as_text(value).strip().lower()
    if text in _OP_SYMBOLS:
        return _OP_SYMBOLS[text]
    try:
        return ConditionOp(text)
    except ValueError:
        raise ValueError(f"must be one of {', '.join(o.value for o in ConditionOp)}") from None


def as_condition(value: Any) -> tuple[ConditionOp, int]:
    """ "any", "count > 5", "< 1", "gt 5", or a mapping {op: gt, threshold: 5}."""
    if isinstance(value, Mapping):
        op = as_condition_op(value.get("op", "any"))
        threshold = as_int(value.get("threshold", 0))
        return op, threshold
    text = as_text(value).strip().lower()
    if text == "any":
        return ConditionOp.ANY, 0
    match = _CONDITION.match(text)
    if not match:
        raise ValueError('must be "any" or a comparison such as "count > 5" or "count < 1"')
    return as_condition_op(match.group(1)), int(match.group(2))
