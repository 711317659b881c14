"""The models of what Grafana does with our SQL: the plugin's macros (dashboards/macros.py) against the plugin's
code, and the alert expressions (testbed/grafana.py) against Grafana's own test cases:
pkg/expr/mathexp/reduce_test.go (grafana/grafana@ff70079) for the reducers and modes, and the predicates of
pkg/expr/threshold.go (grafana/grafana@1f8fcc5) for every evaluator type."""

from __future__ import annotations

import math
import re

import pytest

from dashboards.alerts import pipeline_rules
from dashboards.macros import MacroError, TimeRange, expand_macros
from ddl.spec import SchemaSpec
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
        models = {stage.ref_id: stage.model for stage in rule.stages("uid")}
        assert models["B"]["reducer"] in REDUCERS and models["B"]["settings"]["mode"] == "dropNN"
        (condition,) = models["C"]["conditions"]
        assert condition["evaluator"]["type"] in PREDICATES


# The ClickHouse plugin's own test cases at the pinned v4.20.0 (grafana/clickhouse-datasource
# pkg/macros/macros_test.go, pkg/plugin/driver_test.go TestInterpolateMacros; docs/upstream.md), same inputs and
# expectations. Seconds are Go's t.Unix(), milliseconds t.UnixMilli(), intervals at least 1.
PLUGIN = TimeRange(from_ms=1_415_792_726_123, to_ms=1_447_328_726_456, interval_ms=60_000)  # TestInterpolate*
MACRO_TESTS = TimeRange(from_ms=1_415_792_726_371, to_ms=1_447_328_726_371, interval_ms=20_000)  # TestMacro*
WINDOW = TimeRange(from_ms=1_700_000_000_123, to_ms=1_700_000_600_987, interval_ms=1500)
CAST_FILTER = "cast(sth as timestamp) >= toDateTime(1415792726) AND cast(sth as timestamp) <= toDateTime(1447328726)"
CAST_FILTER_MS = ("cast(sth as timestamp) >= fromUnixTimestamp64Milli(1415792726123) AND "
                  "cast(sth as timestamp) <= fromUnixTimestamp64Milli(1447328726456)")  # fmt: skip


@pytest.mark.parametrize(
    ("sql", "expanded"),
    [  # TestInterpolate
        ("select * from foo where $__timeFilter(cast(sth as timestamp))", f"select * from foo where {CAST_FILTER}"),
        ("select * from foo where $__timeFilter(cast(sth as timestamp) )", f"select * from foo where {CAST_FILTER}"),
        ("select * from foo where $__timeFilter_ms(cast(sth as timestamp))",
         f"select * from foo where {CAST_FILTER_MS}"),
        ("select * from foo where $__timeFilter_ms(cast(sth as timestamp) )",
         f"select * from foo where {CAST_FILTER_MS}"),
        ("select * from foo where ( date >= $__fromTime and date <= $__toTime ) limit 100",
         "select * from foo where ( date >= toDateTime(1415792726) and date <= toDateTime(1447328726) ) limit 100"),
        ("select * from foo where ( date >= $__fromTime ) and ( date <= $__toTime ) limit 100",
         "select * from foo where ( date >= toDateTime(1415792726) ) and ( date <= toDateTime(1447328726) ) limit 100"),
        ("select * from foo where ( date >= $__fromTime_ms and date <= $__toTime_ms ) limit 100",
         "select * from foo where ( date >= fromUnixTimestamp64Milli(1415792726123) and "
         "date <= fromUnixTimestamp64Milli(1447328726456) ) limit 100"),
        # TestInterpolateNestedMacros (interval 1m)
        ("SELECT $__timeInterval($__fromTime) AS from_time",
         "SELECT toStartOfInterval(toDateTime(toDateTime(1415792726)), INTERVAL 60 second) AS from_time"),
        ("SELECT $__timeInterval_ms($__fromTime_ms)",
         "SELECT toStartOfInterval(toDateTime64(fromUnixTimestamp64Milli(1415792726123), 3), "
         "INTERVAL 60000 millisecond)"),
        ("select * from foo where $__timeFilter(coalesce(closed_at, $__toTime))",
         "select * from foo where coalesce(closed_at, toDateTime(1447328726)) >= toDateTime(1415792726) AND "
         "coalesce(closed_at, toDateTime(1447328726)) <= toDateTime(1447328726)"),
        # TestInterpolateBackslashEscapedStringLiterals
        ("select * from foo where msg = 'it\\'s -- fine' and $__fromTime",
         "select * from foo where msg = 'it\\'s -- fine' and toDateTime(1415792726)"),
        ("select * from foo where msg = 'a\\'/*x' and $__toTime",
         "select * from foo where msg = 'a\\'/*x' and toDateTime(1447328726)"),
        ("select * from foo where msg = 'it''s' and $__fromTime",
         "select * from foo where msg = 'it''s' and toDateTime(1415792726)"),
        # TestInterpolateMacros (driver_test.go)
        ("SELECT $__fromTime", "SELECT toDateTime(1415792726)"),
        ("SELECT 1", "SELECT 1"),
    ],
)  # fmt: skip
def test_the_plugin_s_interpolation_cases(sql: str, expanded: str) -> None:
    assert expand_macros(sql, PLUGIN) == expanded


@pytest.mark.parametrize(
    ("sql", "expanded"),
    [  # macros_test.go TestMacro* (interval 20 s)
        ("$__fromTime", "toDateTime(1415792726)"),
        ("$__toTime", "toDateTime(1447328726)"),
        ("$__fromTime_ms", "fromUnixTimestamp64Milli(1415792726371)"),
        ("$__toTime_ms", "fromUnixTimestamp64Milli(1447328726371)"),
        ("$__timeInterval(col)", "toStartOfInterval(toDateTime(col), INTERVAL 20 second)"),
        ("$__timeInterval_ms(col)", "toStartOfInterval(toDateTime64(col, 3), INTERVAL 20000 millisecond)"),
        ("$__interval_s", "20"),
        ("$__timeFrom(ts)", "ts >= toDateTime(1415792726)"),
        ("$__timeTo(ts)", "ts <= toDateTime(1447328726)"),
    ],
)
def test_the_plugin_s_macro_cases(sql: str, expanded: str) -> None:
    assert expand_macros(sql, MACRO_TESTS) == expanded


# macropro v1.0.1 (the plugin's engine; docs/upstream.md), parser.go: `expand` reads `$__name`, then an argument
# list only when `(` follows and `findClosingParen` balances it (else the macro has none), `parseArgs` splits it at
# top-level commas, each trimmed; a handler's error comes back as `macro $__name(arg, …): …`. Its cases are
# parser_test.go's (read at 092bbe5; these functions are the same in v1.0.1).
F = "toDateTime(1415792726)"  # PLUGIN's $__fromTime
T = "toDateTime(1447328726)"  # PLUGIN's $__toTime


@pytest.mark.parametrize(
    ("sql", "message"),
    [("SELECT $__timeFilter()", "$__timeFilter() takes 1 argument, got 0"),
     ("SELECT $__timeFilter", "$__timeFilter() takes 1 argument, got 0"),  # no list: parseArgs("")
     ("SELECT $__timeFilter(ts", "$__timeFilter() takes 1 argument, got 0"),  # unbalanced: no list either
     ("$__timeFrom()", "$__timeFrom() takes 1 argument, got 0"),
     ("$__timeTo()", "$__timeTo() takes 1 argument, got 0"),
     ("$__timeInterval(a, b)", "$__timeInterval(a, b) takes 1 argument, got 2"),
     ("$__timeInterval_ms()", "$__timeInterval_ms() takes 1 argument, got 0"),
     ("$__timeFilter_ms(a, b)", "$__timeFilter_ms(a, b) takes 1 argument, got 2")],
)  # fmt: skip
def test_a_wrong_argument_count_is_refused_as_the_plugin_refuses_it(sql: str, message: str) -> None:
    """pkg/macros/macros.go badArgsErr (TestMacroTimeFrom/TestMacroTimeTo expect the error)."""
    with pytest.raises(MacroError, match=f"^{re.escape(message)}$"):
        expand_macros(sql, PLUGIN)


@pytest.mark.parametrize(
    ("args", "split", "count"),
    [("a, b, c", "a, b, c", 3),  # TestParseArgs_multiple
     ("COALESCE(a, b), c", "COALESCE(a, b), c", 2),  # TestParseArgs_nestedParens
     ("'a,b', c", "'a,b', c", 2),  # TestParseArgs_quotedComma
     ("'it''s, fine', x", "'it''s, fine', x", 2),  # TestParseArgs_doubledSingleQuote
     ('"he said ""hi"", then left", y', '"he said ""hi"", then left", y', 2),  # TestParseArgs_doubledDoubleQuote
     (" a ,b ", "a, b", 2),  # TestParseArgs_single: each trimmed
     ("'', ts", "'', ts", 2),  # an empty literal is an argument
     ("EXPIRY, ts", "EXPIRY, ts", 2)],  # letters open no literal and no group
)  # fmt: skip
def test_arguments_are_split_where_macropro_splits_them(args: str, split: str, count: int) -> None:
    message = f"$__timeFilter({split}) takes 1 argument, got {count}"
    with pytest.raises(MacroError, match=f"^{re.escape(message)}$"):
        expand_macros(f"SELECT $__timeFilter({args})", PLUGIN)


@pytest.mark.parametrize(
    ("sql", "expanded"),
    [  # TestInterpolate_macroWithDoubledQuoteArg
     ("$__timeFrom('it''s, still one arg')", f"'it''s, still one arg' >= {F}"),
     ("$__timeFrom('it''s') rest", f"'it''s' >= {F} rest"),  # TestFindClosingParen_doubledQuote
     ("$__timeFrom(coalesce(nullIf(ts, ''), t0))", f"coalesce(nullIf(ts, ''), t0) >= {F}"),
     ("$__timeFrom(if(note = 'a)b', t1, t0))", f"if(note = 'a)b', t1, t0) >= {F}"),
     ("$__timeTo(MAX_TS)", f"MAX_TS <= {T}")],
)  # fmt: skip
def test_one_argument_reaches_the_macro_as_written(sql: str, expanded: str) -> None:
    assert expand_macros(sql, PLUGIN) == expanded


def test_a_backslash_escape_in_an_argument_list_unbalances_it_as_in_the_plugin() -> None:
    r"""ClickHouse reads `'it\'s'` as one literal, and the plugin's comment stripping does too (its
    BackslashEscape style), but macropro's argument scanner knows only doubled quotes (findClosingParen →
    scanStringLiteral): the list never closes, the macro gets no argument, and the plugin refuses the query."""
    with pytest.raises(MacroError, match=re.escape("$__timeFilter() takes 1 argument, got 0")):
        expand_macros("SELECT $__timeFilter(if(note = 'it\\'s', t1, t0))", PLUGIN)
    assert expand_macros("SELECT $__timeFrom(if(note = 'it''s', t1, t0))", PLUGIN) == (
        f"SELECT if(note = 'it''s', t1, t0) >= {F}"
    )


def test_a_macro_inside_a_literal_is_expanded_too() -> None:
    """macropro's expand looks for `$__` without regard to quotes; an unterminated literal runs to the end
    (TestScanStringLiteral_unterminated), so a `--` in it is no comment."""
    assert expand_macros("SELECT '$__fromTime' AS note", PLUGIN) == f"SELECT '{F}' AS note"
    assert expand_macros("SELECT $__toTime, 'open -- not a comment", PLUGIN) == f"SELECT {T}, 'open -- not a comment"


def blank(text: str) -> str:
    return " " * len(text)


@pytest.mark.parametrize(
    ("sql", "expanded"),
    [("SELECT 1 -- $__timeFilter(x)\n/* $__fromTime */ , $__toTime",
      f"SELECT 1 {blank('-- $__timeFilter(x)')}\n{blank('/* $__fromTime */')} , {T}"),
     ("SELECT $__fromTime -- trailing", f"SELECT {F} {blank('-- trailing')}"),  # TestStripComments_lineCommentAtEOF
     ("SELECT 1 -- cmt\r$__fromTime", f"SELECT 1 {blank('-- cmt')}\r{F}"),  # TestStripComments_lineCommentCROnly
     ("SELECT $__fromTime -- cmt\r\nFROM t", f"SELECT {F} {blank('-- cmt')}\r\nFROM t"),  # ..._lineCommentCRLF
     ("SELECT $__fromTime\n-- note\nFROM t", f"SELECT {F}\n{blank('-- note')}\nFROM t"),
     ("SELECT 1 -- it's\n, $__fromTime", "SELECT 1 " + blank("-- it's") + f"\n, {F}"),  # no literal in a comment
     ("SELECT 1 /* $__fromTime", f"SELECT 1 {blank('/* $__fromTime')}"),  # ..._unterminatedBlockHidesMacro
     ("SELECT /* a */ $__fromTime /* b */", f"SELECT {blank('/* a */')} {F} {blank('/* b */')}"),
     ("SELECT /**/$__fromTime", f"SELECT {blank('/**/')}{F}"),
     ("SELECT /*/ $__fromTime */ 1", f"SELECT {blank('/*/ $__fromTime */')} 1"),  # `*/` is looked for after `/*`
     ("/* one\ntwo */ $__toTime", blank("/* one\ntwo */") + f" {T}"),
     ("SELECT 'a' AS s -- $__fromTime\n, $__toTime", f"SELECT 'a' AS s {blank('-- $__fromTime')}\n, {T}"),
     ("SELECT replaceAll(p, '\\\\', '/') -- $__fromTime\n, $__toTime",
      f"SELECT replaceAll(p, '\\\\', '/') {blank('-- $__fromTime')}\n, {T}"),
     ("SELECT MAX(x) -- top\nFROM t WHERE $__timeFilter(EXPIRY)",
      f"SELECT MAX(x) {blank('-- top')}\nFROM t WHERE EXPIRY >= {F} AND EXPIRY <= {T}")],
)  # fmt: skip
def test_comments_are_blanked_once_a_macro_is_in_the_query(sql: str, expanded: str) -> None:
    r"""The plugin blanks `--` (to `\n` or `\r`) and `/* */` (to the end if never closed) comments to spaces of
    the same length before it expands, literals kept (macropro.go StripComments); a macro inside a comment is
    never expanded. Cases from macropro's parser_test.go TestStripComments_*."""
    assert expand_macros(sql, PLUGIN) == expanded


def test_a_query_without_a_macro_goes_out_verbatim() -> None:
    assert expand_macros("SELECT 1 -- note", PLUGIN) == "SELECT 1 -- note"


def test_an_unbalanced_argument_list_is_left_in_the_query() -> None:
    assert expand_macros("SELECT $__fromTime(", PLUGIN) == "SELECT toDateTime(1415792726)("
    assert expand_macros("SELECT $__fromTime('a)')", PLUGIN) == "SELECT toDateTime(1415792726)"  # quotes skipped


def test_our_variables_and_windows() -> None:
    assert expand_macros("level_${level} $__interval_s", WINDOW, {"level": "3"}) == "level_3 1"
    assert expand_macros("$__timeFilter_ms( ts )", WINDOW) == (
        "ts >= fromUnixTimestamp64Milli(1700000000123) AND ts <= fromUnixTimestamp64Milli(1700000600987)"
    )


def test_intervals_are_at_least_one_unit() -> None:
    short = TimeRange(0, 1000, 500)
    assert expand_macros("$__interval_s $__timeInterval(t)", short) == (
        "1 toStartOfInterval(toDateTime(t), INTERVAL 1 second)"
    )
    assert TimeRange(0, 1000, 0).interval_s == 1 and TimeRange(0, 1000, 61_999).interval_s == 61
    assert expand_macros("$__timeInterval_ms(t)", TimeRange(0, 1000, 0)).endswith("INTERVAL 1 millisecond)")


def test_a_macro_the_model_does_not_know_is_refused_in_one_line() -> None:
    with pytest.raises(MacroError) as raised:
        expand_macros("SELECT $__dateFilter(d)\nFROM t", WINDOW)
    assert str(raised.value) == "$__dateFilter is not modelled (dashboards/macros.py): SELECT $__dateFilter(d) FROM t"
    with pytest.raises(MacroError) as raised:
        expand_macros("SELECT ${level}\nFROM t", WINDOW)
    assert str(raised.value) == "a variable nobody gave in: SELECT ${level} FROM t"
