"""The models of what Grafana does with our SQL: the plugin's macros (dashboards/macros.py) against the plugin's
code, and the alert expressions (testbed/grafana.py) against Grafana's own test cases:
pkg/expr/mathexp/reduce_test.go (grafana/grafana@ff70079) for the reducers and modes, and the predicates of
pkg/expr/threshold.go (grafana/grafana@1f8fcc5) for every evaluator type."""

from __future__ import annotations

import math
import re

import pytest

from dashboards.alerts import pipeline_rules
from dashboards.macros import TimeRange, expand_macros
from schema.spec import SchemaSpec
from testbed.grafana import PREDICATES, REDUCERS, reduce_stage, threshold_stage

A_SERIES = [1.0, 2.0]  # aSeries
WITH_NIL = [2.0, None]  # seriesWithNil
EMPTY: list[float | None] = []  # seriesEmpty
NON_NUMBERS = [math.nan, -math.inf, math.inf, None]  # seriesNonNumbers
NAN = "NaN"


def reduce(reducer: str, values: list, mode: str = "", replace_with: float = 0.25) -> float | None:
    settings = {"mode": mode, "replaceWithValue": replace_with} if mode else {}
    return reduce_stage({"type": "reduce", "reducer": reducer, "settings": settings}, values)


def same(found: float | None, expected: float | str | None) -> bool:
    if expected == NAN:
        return found is not None and math.isnan(found)
    return found == expected


@pytest.mark.parametrize(
    ("reducer", "values", "expected"),
    [("sum", A_SERIES, 3.0), ("sum", WITH_NIL, NAN), ("sum", EMPTY, 0.0), ("mean", WITH_NIL, NAN),
     ("mean", EMPTY, NAN), ("min", WITH_NIL, NAN), ("min", EMPTY, NAN), ("max", WITH_NIL, NAN), ("max", EMPTY, NAN),
     ("mean", A_SERIES, 1.5), ("count", EMPTY, 0.0), ("last", EMPTY, NAN), ("last", WITH_NIL, None),
     ("max", A_SERIES, 2.0), ("min", A_SERIES, 1.0), ("last", A_SERIES, 2.0)],
)  # fmt: skip
def test_strict_reducers_follow_grafanas_series_reduce(reducer: str, values: list, expected) -> None:
    assert same(reduce(reducer, values), expected)


@pytest.mark.parametrize(
    ("reducer", "values", "expected"),
    [("sum", A_SERIES, 3.0), ("sum", WITH_NIL, 2.0), ("sum", EMPTY, 0.0), ("mean", WITH_NIL, 2.0),
     ("mean", EMPTY, None), ("mean", NON_NUMBERS, None), ("count", EMPTY, 0.0), ("count", WITH_NIL, 1.0),
     ("max", NON_NUMBERS, None), ("last", WITH_NIL, 2.0), ("last", NON_NUMBERS, None), ("max", [1.0, math.inf], 1.0)],
)  # fmt: skip
def test_drop_non_numbers_follows_grafanas_drop_nn(reducer: str, values: list, expected) -> None:
    assert same(reduce(reducer, values, "dropNN"), expected)


@pytest.mark.parametrize(
    ("reducer", "values", "expected"),
    [("sum", A_SERIES, 3.0), ("sum", WITH_NIL, 2.25), ("sum", EMPTY, 0.0), ("mean", WITH_NIL, 1.125),
     ("mean", EMPTY, 0.25), ("mean", NON_NUMBERS, 0.25), ("count", EMPTY, 0.0), ("count", WITH_NIL, 2.0)],
)  # fmt: skip
def test_replace_non_numbers_follows_grafanas_replace_nn(reducer: str, values: list, expected) -> None:
    assert same(reduce(reducer, values, "replaceNN", replace_with=0.25), expected)


def test_every_reducer_grafana_supports_is_modelled() -> None:
    assert set(REDUCERS) == {"sum", "mean", "min", "max", "count", "last"}  # GetSupportedReduceFuncs


@pytest.mark.parametrize(
    ("evaluator", "params", "true_for", "false_for"),
    [("gt", [9.9], [9.91, 100], [9.9, 0]), ("lt", [9.9], [9.89], [9.9, 10]), ("eq", [1], [1], [1.01]),
     ("ne", [1], [0.99], [1]), ("gte", [1], [1, 2], [0.99]), ("lte", [1], [1, 0], [1.01]),
     ("within_range", [1, 3], [2], [1, 3, 0]), ("outside_range", [1, 3], [0, 4], [1, 3, 2]),
     ("within_range_included", [1, 3], [1, 3, 2], [0.99, 3.01]),
     ("outside_range_included", [1, 3], [1, 3, 0], [2])],
)  # fmt: skip
def test_threshold_predicates_follow_grafanas(evaluator: str, params: list, true_for: list, false_for: list) -> None:
    model = {"type": "threshold", "conditions": [{"evaluator": {"type": evaluator, "params": params}}]}
    assert all(threshold_stage(model, value) is True for value in true_for)
    assert all(threshold_stage(model, value) is False for value in false_for)
    assert threshold_stage(model, None) is None  # no value stays no value


def test_every_evaluator_type_grafana_supports_is_modelled() -> None:
    assert len(PREDICATES) == 10  # supportedThresholdFuncs


def test_our_rules_use_only_what_the_model_covers() -> None:
    for rule in pipeline_rules(SchemaSpec(), 9.9, 5, "dev"):
        models = {stage["ref_id"]: stage["model"] for stage in rule.data("uid")}
        assert models["B"]["reducer"] in REDUCERS and models["B"]["settings"]["mode"] == "dropNN"
        (condition,) = models["C"]["conditions"]
        assert condition["evaluator"]["type"] in PREDICATES


# The ClickHouse plugin's macros (grafana/clickhouse-datasource@4304e52, pkg/macros/macros.go): seconds are
# Go's t.Unix(), milliseconds t.UnixMilli(), intervals at least 1 (math.Max(..., 1)).
WINDOW = TimeRange(from_ms=1_700_000_000_123, to_ms=1_700_000_600_987, interval_ms=1500)


@pytest.mark.parametrize(
    ("sql", "expanded"),
    [
        ("$__timeFilter(ts)", "ts >= toDateTime(1700000000) AND ts <= toDateTime(1700000600)"),
        ("$__timeFilter_ms( ts )", "ts >= fromUnixTimestamp64Milli(1700000000123) AND "
                                   "ts <= fromUnixTimestamp64Milli(1700000600987)"),
        ("$__timeInterval(ts)", "toStartOfInterval(toDateTime(ts), INTERVAL 1 second)"),
        ("$__timeInterval_ms(ts)", "toStartOfInterval(toDateTime64(ts, 3), INTERVAL 1500 millisecond)"),
        ("$__interval_s", "1"),
        ("$__fromTime AND $__toTime", "toDateTime(1700000000) AND toDateTime(1700000600)"),
        ("$__fromTime_ms AND $__toTime_ms", "fromUnixTimestamp64Milli(1700000000123) AND "
                                            "fromUnixTimestamp64Milli(1700000600987)"),
        ("level_${level}", "level_3"),
    ],
)  # fmt: skip
def test_macros_expand_as_the_plugin_expands_them(sql: str, expanded: str) -> None:
    assert expand_macros(sql, WINDOW, {"level": "3"}) == expanded


def test_intervals_are_at_least_one_unit() -> None:
    short = TimeRange(0, 1000, 500)
    assert expand_macros("$__interval_s $__timeInterval(t)", short) == (
        "1 toStartOfInterval(toDateTime(t), INTERVAL 1 second)"
    )
    assert TimeRange(0, 1000, 0).interval_s == 1 and TimeRange(0, 1000, 61_999).interval_s == 61
    assert expand_macros("$__timeInterval_ms(t)", TimeRange(0, 1000, 0)).endswith("INTERVAL 1 millisecond)")


def test_a_macro_the_model_does_not_know_is_refused() -> None:
    with pytest.raises(ValueError, match=re.escape("unexpanded macro or variable in: SELECT $__dateFilter(d)")):
        expand_macros("SELECT $__dateFilter(d)", WINDOW)
    with pytest.raises(ValueError, match="unexpanded macro or variable"):
        expand_macros("SELECT ${level}", WINDOW)  # a variable nobody gave
