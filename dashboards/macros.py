"""The ClickHouse plugin's macros, expanded as the pinned plugin does it (grafana/clickhouse-datasource v4.20.0:
`pkg/macros/macros.go` through grafana/macropro v1.0.1; docs/upstream.md). Its own test cases are ours
(tests/dashboards/test_macros_and_alerts.py).

Grafana expands these before the query reaches ClickHouse; `verify` (as the reader user, on a deployed stack) and
the tests (on chdb) run the dashboard's and the rules' SQL after the same expansion. The engine, as the plugin has
it: a query without `$__` goes out verbatim; otherwise its comments are blanked, then one forward scan expands each
macro, a `(` right after its name opening an argument list that may nest parentheses and other macros (innermost
first). A macro this model does not know is refused, in one line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

PREFIX = "$__"
NAME = re.compile(r"[_a-zA-Z0-9]*")


class MacroError(ValueError):
    """A query the plugin would refuse, or one this model cannot expand: one line."""


@dataclass(frozen=True)
class TimeRange:
    from_ms: int
    to_ms: int
    interval_ms: int

    @property
    def interval_s(self) -> int:
        return max(1, self.interval_ms // 1000)

    @property
    def from_s(self) -> int:
        return self.from_ms // 1000  # Go's t.Unix()

    @property
    def to_s(self) -> int:
        return self.to_ms // 1000


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _one(name: str, args: list[str]) -> str:
    """The one argument; else an error naming the arguments as the plugin split them (macropro wraps a handler's
    error in `macro $__name(arg, …)`)."""
    if len(args) != 1:
        raise MacroError(f"$__{name}({_one_line(', '.join(args))}) takes 1 argument, got {len(args)}")
    return args[0]


def _seconds(t: int) -> str:
    return f"toDateTime({t})"


def _millis(t: int) -> str:
    return f"fromUnixTimestamp64Milli({t})"


def _time_filter(w: TimeRange, args: list[str]) -> str:
    col = _one("timeFilter", args)
    return f"{col} >= {_seconds(w.from_s)} AND {col} <= {_seconds(w.to_s)}"


def _time_filter_ms(w: TimeRange, args: list[str]) -> str:
    col = _one("timeFilter_ms", args)
    return f"{col} >= {_millis(w.from_ms)} AND {col} <= {_millis(w.to_ms)}"


def _time_interval(w: TimeRange, args: list[str]) -> str:
    return f"toStartOfInterval(toDateTime({_one('timeInterval', args)}), INTERVAL {w.interval_s} second)"


def _time_interval_ms(w: TimeRange, args: list[str]) -> str:
    col = _one("timeInterval_ms", args)
    return f"toStartOfInterval(toDateTime64({col}, 3), INTERVAL {max(1, w.interval_ms)} millisecond)"


MACROS: dict[str, Callable[[TimeRange, list[str]], str]] = {  # pkg/macros/macros.go L53-139 at v4.20.0
    "fromTime": lambda w, _: _seconds(w.from_s),
    "toTime": lambda w, _: _seconds(w.to_s),
    "fromTime_ms": lambda w, _: _millis(w.from_ms),
    "toTime_ms": lambda w, _: _millis(w.to_ms),
    "timeFilter": _time_filter,
    "timeFilter_ms": _time_filter_ms,
    "timeFrom": lambda w, args: f"{_one('timeFrom', args)} >= {_seconds(w.from_s)}",
    "timeTo": lambda w, args: f"{_one('timeTo', args)} <= {_seconds(w.to_s)}",
    "timeInterval": _time_interval,
    "timeInterval_ms": _time_interval_ms,
    "interval_s": lambda w, _: str(w.interval_s),
}


def expand_macros(sql: str, window: TimeRange, variables: dict[str, str] | None = None) -> str:
    """`sql` as the plugin sends it to ClickHouse for `window`, after Grafana substituted `variables`."""
    for name, value in (variables or {}).items():
        sql = sql.replace(f"${{{name}}}", value)
    if re.search(r"\$\{", sql):
        raise MacroError(f"a variable nobody gave in: {_one_line(sql)}")
    if PREFIX not in sql:
        return sql
    return _expand(blank_comments(sql), window)


def _expand(sql: str, window: TimeRange) -> str:
    out, at = [], 0
    while (start := sql.find(PREFIX, at)) >= 0:
        out.append(sql[at:start])
        name = NAME.match(sql, start + len(PREFIX))[0]  # type: ignore[index]  # matches the empty string at least
        handler = MACROS.get(name)
        if handler is None:
            raise MacroError(f"$__{name} is not modelled (dashboards/macros.py): {_one_line(sql)}")
        at = start + len(PREFIX) + len(name)
        args: list[str] = []
        if sql.startswith("(", at) and (arg_list := _argument_list(sql, at)) is not None:
            written, at = arg_list
            args = [_expand(arg, window) for arg in written]
        out.append(handler(window, args))
    out.append(sql[at:])
    return "".join(out)


def _skip_literal(sql: str, at: int, backslash: bool = False) -> int:
    """The index after the quoted literal opening at `at` (a backslash escaping the next character, if asked).
    A doubled quote, SQL's escape, ends the literal and opens the next one: the same text is skipped as when
    the plugin reads it as one literal."""
    quote, i = sql[at], at + 1
    while i < len(sql):
        if backslash and sql[i] == "\\":
            i += 2
        elif sql[i] == quote:
            return i + 1
        else:
            i += 1
    return len(sql)


def _argument_list(sql: str, at: int) -> tuple[list[str], int] | None:
    """The arguments of the list whose `(` is at `at`, split at its top-level commas and trimmed (`()` has none),
    and the index after its `)`; None when it never closes (the macro then takes none). macropro's
    findClosingParen and parseArgs in one pass: they skip literals and count parentheses alike."""
    depth, cuts, i = 0, [at], at
    while i < len(sql):
        if sql[i] in "'\"":
            i = _skip_literal(sql, i)
            continue
        depth += {"(": 1, ")": -1}.get(sql[i], 0)
        if depth == 0:
            args = [sql[cut + 1 : end].strip() for cut, end in pairwise([*cuts, i])]
            return ([] if args == [""] else args), i + 1
        if sql[i] == "," and depth == 1:
            cuts.append(i)
        i += 1
    return None


def blank_comments(sql: str) -> str:
    """`-- …` (to the line's end) and `/* … */` (to the query's end if it never closes) replaced by spaces of the
    same length; quoted literals (backslash escapes included) kept as they are."""
    out, i = [], 0
    while i < len(sql):
        if sql[i] in "'\"":
            end = _skip_literal(sql, i, backslash=True)
            out.append(sql[i:end])
        elif comment := re.compile(r"--[^\r\n]*|/\*.*?(?:\*/|\Z)", re.DOTALL).match(sql, i):
            end = comment.end()
            out.append(" " * (end - i))
        else:
            end = i + 1
            out.append(sql[i])
        i = end
    return "".join(out)
