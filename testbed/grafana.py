"""What Grafana does with a rule's result, for tests: the alert chain (reduce, threshold) evaluated over a
query's real result, as Grafana's own code does it (GRAFANA_SOURCE; tests/dashboards/test_macros_and_alerts.py
checks the model against the cases of Grafana's own tests). The macros are expanded by `dashboards.macros`."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ddl.spec import ROLLUP_GRAIN_S

GRAFANA_SOURCE = "grafana/grafana pkg/expr/mathexp/reduce.go@598dda5, pkg/expr/threshold.go@1f8fcc5"
NAN = math.nan


def _sum(values: list[float | None]) -> float:
    return NAN if any(v is None or math.isnan(v) for v in values) else float(sum(values))  # type: ignore[arg-type]


def _extreme(pick: Callable[[list[float]], float]) -> Callable[[list[float | None]], float]:
    def reduce(values: list[float | None]) -> float:
        if not values or any(v is None or math.isnan(v) for v in values):
            return NAN
        return pick(values)  # type: ignore[arg-type]

    return reduce


def _mean(values: list[float | None]) -> float:
    total = _sum(values)
    return total / len(values) if values else NAN  # Go: 0/0 is NaN


def _last(values: list[float | None]) -> float | None:
    return values[-1] if values else NAN  # Go returns the last point as is, nil included


# GetReduceFunc: every reducer Grafana supports
REDUCERS: dict[str, Callable[[list[float | None]], float | None]] = {
    "sum": _sum,
    "mean": _mean,
    "min": _extreme(min),
    "max": _extreme(max),
    "count": lambda values: float(len(values)),
    "last": _last,
}


def _number(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def reduce_stage(model: dict[str, Any], values: list[Any]) -> float | None:
    """Grafana's reduce expression (Series.Reduce). Modes: strict (""), `dropNN` (DropNonNumber: drop null, NaN
    and ±Inf, and a NaN result is no value), `replaceNN` (ReplaceNonNumberWithValue). None = no value."""
    assert model["type"] == "reduce"
    points = [None if v is None else float(v) for v in values]
    mode = model.get("settings", {}).get("mode", "")
    if mode == "dropNN":
        points = [v for v in points if _number(v)]
    elif mode == "replaceNN":
        replacement = float(model["settings"]["replaceWithValue"])
        points = [v if _number(v) else replacement for v in points]
    result = REDUCERS[model["reducer"].lower()](points)
    if mode and result is not None and math.isnan(result):  # MapOutput
        return None if mode == "dropNN" else float(model["settings"]["replaceWithValue"])
    return result


# NewThresholdCommand's predicates, by evaluator type
PREDICATES: dict[str, Callable[[float, list[float]], bool]] = {
    "gt": lambda v, p: v > p[0],
    "lt": lambda v, p: v < p[0],
    "eq": lambda v, p: v == p[0],
    "ne": lambda v, p: v != p[0],
    "gte": lambda v, p: v >= p[0],
    "lte": lambda v, p: v <= p[0],
    "within_range": lambda v, p: p[0] < v < p[1],
    "outside_range": lambda v, p: v < p[0] or v > p[1],
    "within_range_included": lambda v, p: p[0] <= v <= p[1],
    "outside_range_included": lambda v, p: v <= p[0] or v >= p[1],
}


def threshold_stage(model: dict[str, Any], value: float | None) -> bool | None:
    """Grafana's threshold expression: exactly one condition; no value stays no value (None)."""
    assert model["type"] == "threshold"
    (condition,) = model["conditions"]
    evaluator = condition["evaluator"]
    if value is None:
        return None
    return PREDICATES[evaluator["type"]](value, evaluator["params"])


def raw_branch_only(sql: str, interval_s: int) -> str:
    """An expanded panel query with its raw-table branch forced on and its rollup branch off, to compare the
    two paths at the same interval."""
    raw, rollup = f"{interval_s} < {ROLLUP_GRAIN_S}", f"{interval_s} >= {ROLLUP_GRAIN_S}"
    assert sql.count(raw) == 1 and sql.count(rollup) == 1
    return sql.replace(raw, "1").replace(rollup, "0")
