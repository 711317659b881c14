"""What Grafana does with our queries, for tests: the ClickHouse plugin's macros, expanded exactly as the
plugin documents them, and the alert chain (reduce, threshold) evaluated over a query's real result."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MACRO = re.compile(r"\$__(timeFilter_ms|timeFilter|timeInterval_ms|timeInterval)\(([^()]+)\)")


@dataclass(frozen=True)
class TimeRange:
    from_ms: int
    to_ms: int
    interval_ms: int

    @property
    def interval_s(self) -> int:
        return max(1, self.interval_ms // 1000)


def expand_macros(sql: str, window: TimeRange, variables: dict[str, str] | None = None) -> str:
    for name, value in (variables or {}).items():
        sql = sql.replace(f"${{{name}}}", value)

    def function(match: re.Match[str]) -> str:
        name, column = match[1], match[2].strip()
        if name == "timeFilter_ms":
            return (f"{column} >= fromUnixTimestamp64Milli({window.from_ms}) AND "
                    f"{column} <= fromUnixTimestamp64Milli({window.to_ms})")  # fmt: skip
        if name == "timeFilter":
            return (
                f"{column} >= toDateTime({window.from_ms // 1000}) AND {column} <= toDateTime({window.to_ms // 1000})"
            )
        if name == "timeInterval_ms":
            return f"toStartOfInterval(toDateTime64({column}, 3), INTERVAL {window.interval_ms} millisecond)"
        return f"toStartOfInterval(toDateTime({column}), INTERVAL {window.interval_s} second)"

    sql = MACRO.sub(function, sql)
    sql = sql.replace("$__interval_s", str(window.interval_s))
    sql = sql.replace("$__fromTime_ms", f"fromUnixTimestamp64Milli({window.from_ms})")
    sql = sql.replace("$__toTime_ms", f"fromUnixTimestamp64Milli({window.to_ms})")
    sql = sql.replace("$__fromTime", f"toDateTime({window.from_ms // 1000})")
    sql = sql.replace("$__toTime", f"toDateTime({window.to_ms // 1000})")
    assert "$" not in sql, f"unexpanded macro or variable in:\n{sql}"
    return sql


REDUCERS: dict[str, Callable[[list[float]], float]] = {
    "max": max,
    "min": min,
    "mean": lambda values: sum(values) / len(values),
    "last": lambda values: values[-1],
    "sum": sum,
    "count": len,
}


def reduce_stage(model: dict[str, Any], values: list[Any]) -> float | None:
    """Grafana's reduce expression; `dropNN` drops null and NaN first. None = no data."""
    assert model["type"] == "reduce"
    if model["settings"]["mode"] == "dropNN":
        values = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    return REDUCERS[model["reducer"]](values) if values else None


def threshold_stage(model: dict[str, Any], value: float | None) -> bool | None:
    """Grafana's threshold expression: exactly one condition. None = no data."""
    assert model["type"] == "threshold"
    (condition,) = model["conditions"]
    evaluator = condition["evaluator"]
    if value is None:
        return None
    compare = {"gt": lambda v, p: v > p[0], "lt": lambda v, p: v < p[0]}[evaluator["type"]]
    return compare(value, evaluator["params"])
