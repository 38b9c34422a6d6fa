"""A work budget for user templates: refused at save when they could run long or grow huge,
and bounded at run time so that no template holds a worker thread or its memory.

Jinja's sandbox stops attribute tricks, not work: ``{% for i in range(100000) %}…`` or
``{{ 'x' * 10**9 }}`` are legal sandboxed templates. Two layers keep them cheap:

- **At save** (:func:`budget_problem`), the shapes that only make sense as abuse get a
  field error: loops nested deeper than two, ``range`` without small constant bounds,
  ``**``, repeating a literal more than a few times, large numbers handed to a filter or
  a call, macros and recursive loops (unbounded recursion).
- **At run time** (:class:`BudgetedEnvironment`), every step a template can take to do
  work passes a check of the render's deadline and of the size of what it makes: each
  call, filter, attribute or item read, ``* ** % +``, each step of ``range``, each chunk
  of output. Past the deadline or a size limit the render stops with a SecurityError;
  the output is cut at :data:`MAX_OUTPUT` characters.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterator, Sized
from contextvars import ContextVar
from typing import Any

from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

MAX_SECONDS = 0.05  # CPU time of one render: what it takes from a worker's core
MAX_WALL_SECONDS = 1.0  # ... and wall time, if the machine is busy; and never past the run's end
MAX_OUTPUT = 2_500  # characters of output: at most 10 KB of UTF-8, more than Slack shows
MAX_VALUE = 100_000  # characters (or items) of any value a template makes or reads
MAX_RANGE = 1_000  # steps of one range()
MAX_NESTING = 2  # loops inside loops
MAX_REPEAT = 100  # 'x' * n in a saved template
MAX_NUMBER = MAX_OUTPUT  # an int handed to a filter or a call (widths, counts)
_WIDTH = re.compile(r"[%{][^%{}]*?(\d{5,})")  # a format width of 10000 or more

# (thread CPU time, time.monotonic()) after which the render must stop. CPU time is what
# a render takes from the worker; counting it, not the wall clock, a busy machine does
# not fail a small template that was merely waiting for a core.
_DEADLINE: ContextVar[tuple[float, float]] = ContextVar(
    "template_deadline", default=(float("inf"), float("inf"))
)


class BudgetExceeded(SecurityError):
    """The template wanted more time or memory than a template gets."""


# ----------------------------------------------------------------------------- at save


def budget_problem(tree: nodes.Template) -> str | None:
    """Why this template could run long or produce huge output, or None."""
    if tree.find((nodes.Macro, nodes.CallBlock)) is not None:  # type: ignore[arg-type]
        return "macros are not allowed in templates"
    if any(loop.recursive for loop in tree.find_all(nodes.For)):
        return "recursive loops are not allowed in templates"
    if _nesting(tree) > MAX_NESTING:
        return f"loops may nest at most {MAX_NESTING} deep"
    for call in tree.find_all(nodes.Call):
        is_range = isinstance(call.node, nodes.Name) and call.node.name == "range"
        if is_range and (problem := _range_problem(call)):
            return problem
        if problem := _numbers_problem([*call.args, *(k.value for k in call.kwargs)]):
            return problem
    for flt in tree.find_all(nodes.Filter):
        if problem := _numbers_problem([*flt.args, *(k.value for k in flt.kwargs)]):
            return problem
    if tree.find(nodes.Pow) is not None:
        return "`**` is not allowed in templates"
    for mul in tree.find_all(nodes.Mul):
        if problem := _repeat_problem(mul):
            return problem
    return _format_problem(tree)


def _nesting(node: nodes.Node, depth: int = 0) -> int:
    deepest = depth
    for child in node.iter_child_nodes():
        inner = depth + 1 if isinstance(child, nodes.For) else depth
        deepest = max(deepest, _nesting(child, inner))
    return deepest


def _range_problem(call: nodes.Call) -> str | None:
    bounds = [arg.value if isinstance(arg, nodes.Const) else None for arg in call.args]
    if call.kwargs or not bounds or any(not isinstance(b, int) for b in bounds):
        return f"range() takes constant whole numbers in templates (at most {MAX_RANGE} steps)"
    ints = [int(b) for b in bounds if isinstance(b, int)]
    steps = len(range(*ints)) if ints[2:3] != [0] else 0
    if steps > MAX_RANGE:
        return f"range() may count at most {MAX_RANGE} steps in a template"
    return None


def _numbers_problem(args: list[nodes.Expr]) -> str | None:
    for arg in args:
        if isinstance(arg, nodes.Const) and isinstance(arg.value, int) and arg.value > MAX_NUMBER:
            return f"numbers given to a filter or a call may be at most {MAX_NUMBER}"
        if isinstance(arg, nodes.Const) and isinstance(arg.value, str) and _WIDTH.search(arg.value):
            return "format widths in templates may be at most 4 digits"
    return None


def _format_problem(tree: nodes.Template) -> str | None:
    for mod in tree.find_all(nodes.Mod):
        if problem := _numbers_problem([mod.left]):
            return problem
    return None


def _repeat_problem(mul: nodes.Mul) -> str | None:
    sides = (mul.left, mul.right)
    repeated = any(
        isinstance(s, (nodes.List, nodes.Tuple))
        or (isinstance(s, nodes.Const) and isinstance(s.value, str))
        for s in sides
    )
    if not repeated:
        return None
    small = any(
        isinstance(s, nodes.Const) and isinstance(s.value, int) and s.value <= MAX_REPEAT
        for s in sides
    )
    return None if small else f"a text or list may be repeated at most {MAX_REPEAT} times"


# ------------------------------------------------------------------------- at run time


def start_budget(run_deadline: float) -> Any:
    """Open one render's budget: MAX_SECONDS of CPU from now, and at most MAX_WALL_SECONDS
    or what is left of the run (``run_deadline``, time.monotonic()). Returns the token
    for :func:`end_budget`."""
    wall = min(time.monotonic() + MAX_WALL_SECONDS, run_deadline)
    return _DEADLINE.set((time.thread_time() + MAX_SECONDS, wall))


def end_budget(token: Any) -> None:
    _DEADLINE.reset(token)


def check_time() -> None:
    cpu, wall = _DEADLINE.get()
    if time.thread_time() > cpu:
        raise BudgetExceeded(f"the template took longer than {int(MAX_SECONDS * 1000)} ms")
    if time.monotonic() > wall:
        raise BudgetExceeded("the template ran out of the search's time")


def check_size(value: Any) -> Any:
    if isinstance(value, (str, bytes, list, tuple, dict, set)) and len(value) > MAX_VALUE:
        raise BudgetExceeded(f"the template made a value of more than {MAX_VALUE} characters")
    return value


def _check_args(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_NUMBER:
            raise BudgetExceeded(f"numbers given to a filter or a call may be at most {MAX_NUMBER}")
        if isinstance(value, str) and _WIDTH.search(value):
            raise BudgetExceeded("format widths in templates may be at most 4 digits")


def _size(value: Any) -> int:
    return len(value) if isinstance(value, Sized) and not isinstance(value, int) else 0


def _binop_size(operator: str, left: Any, right: Any) -> int:
    """How big the result of ``left <operator> right`` would be, before it is made."""
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, (str, list, tuple)) and isinstance(times, int):
                return len(seq) * max(times, 0)
    if operator == "+":
        return _size(left) + _size(right)
    if operator == "%" and isinstance(left, str):
        _check_args((left,), {})
        return len(left) + _size(right)
    return 0


def _too_large_power(base: Any, exponent: Any) -> bool:
    if not (isinstance(base, int) and isinstance(exponent, int)):
        return False
    return abs(exponent) > 64 or base.bit_length() * abs(exponent) > 4096


class BudgetedEnvironment(SandboxedEnvironment):
    """The sandbox, with the deadline and size checked at every step a template can take."""

    intercepted_binops = frozenset(["*", "**", "%", "+"])

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = budgeted_range
        self.filters = {name: _budgeted(fn) for name, fn in self.filters.items()}

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        check_time()
        if _binop_size(operator, left, right) > MAX_VALUE:
            raise BudgetExceeded(f"the template made a value of more than {MAX_VALUE} characters")
        if operator == "**" and _too_large_power(left, right):
            raise BudgetExceeded("the template computed too large a number")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        check_time()
        _check_args(args, kwargs)
        return check_size(super().call(__context, __obj, *args, **kwargs))

    def getattr(self, obj: Any, attribute: str) -> Any:
        check_time()
        return guarded(check_size(super().getattr(obj, attribute)))

    def getitem(self, obj: Any, argument: Any) -> Any:
        check_time()
        return guarded(check_size(super().getitem(obj, argument)))


class _TimedStr(str):
    """A text whose characters, looped over, check the deadline: loops have no hook."""

    __slots__ = ()

    def __iter__(self) -> Iterator[str]:
        for char in str.__iter__(self):
            check_time()
            yield char


class _TimedList(list[Any]):
    def __iter__(self) -> Iterator[Any]:
        for item in list.__iter__(self):
            check_time()
            yield item


def guarded(value: Any) -> Any:
    """``value``, so that a loop over it checks the deadline at every step."""
    if type(value) is str:
        return _TimedStr(value)
    if type(value) in (list, tuple):
        return _TimedList(value)
    return value


def guarded_context(context: dict[str, Any]) -> dict[str, Any]:
    """The render's variables, each looped over under the deadline (nested values are
    guarded when a template reads them)."""
    return {name: guarded(value) for name, value in context.items()}


def _budgeted(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A filter with the budget checked before (its arguments) and after (its result)."""

    @functools.wraps(fn)  # keeps jinja_pass_arg: context/environment filters still get it
    def filtered(*args: Any, **kwargs: Any) -> Any:
        check_time()
        _check_args(args[1:], kwargs)
        return check_size(fn(*args, **kwargs))

    return filtered


def budgeted_range(*bounds: int) -> Iterator[int]:
    steps = range(*bounds)
    if len(steps) > MAX_RANGE:
        raise BudgetExceeded(f"range() may count at most {MAX_RANGE} steps in a template")
    for step in steps:
        check_time()
        yield step


def bounded_output(chunks: Iterator[str]) -> str:
    """The template's output, stopped at MAX_OUTPUT characters (the rest is never rendered)."""
    parts: list[str] = []
    size = 0
    for chunk in chunks:
        check_time()
        parts.append(chunk)
        size += len(chunk)
        if size > MAX_OUTPUT:
            return "".join(parts)[: MAX_OUTPUT - 1] + "…"
    return "".join(parts)
