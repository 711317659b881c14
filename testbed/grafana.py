"""What Grafana does with a rule's result, for tests: the alert chain (reduce, threshold) evaluated over a
query's real result. The macros are expanded by `dashboards.macros`."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from schema.spec import ROLLUP_GRAIN_S

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


def raw_branch_only(sql: str, interval_s: int) -> str:
    """An expanded panel query with its raw-table branch forced on and its rollup branch off, to compare the
    two paths at the same interval."""
    raw, rollup = f"{interval_s} < {ROLLUP_GRAIN_S}", f"{interval_s} >= {ROLLUP_GRAIN_S}"
    assert sql.count(raw) == 1 and sql.count(rollup) == 1
    return sql.replace(raw, "1").replace(rollup, "0")
