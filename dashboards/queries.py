"""The SQL Grafana runs, built from the `SchemaSpec`: the time-series shape every chart shares, and the queries
a panel and an alert rule both read (so the two can never disagree).

Queries are written with the ClickHouse plugin's macros: `$__timeFilter_ms(c)` restricts a DateTime64(3)
column to the dashboard's (or the rule's) time range — on the target's ORDER BY column, so only the
granules of that range are read — and `$__timeInterval_ms(c)` buckets it.

Time series read one of two sources, chosen inside the query by the panel's interval: the raw table below
a minute, the per-minute rollup (`ROLLUP_GRAIN_S`) from a minute up, so a 30-day range reads ~43 k rollup
rows instead of ~26 M reports. The inactive branch's filter is a constant false, and ClickHouse reads
nothing for it. Both branches give the same points over whole minutes (tests/dashboards/test_panels.py); over a
range starting mid-minute the rollup's first point covers that whole minute.
"""

from __future__ import annotations

from ddl.spec import ROLLUP_GRAIN_S, SchemaSpec, mid_price_sql

# The mid-price rule fires on the highest mid price in its window: the panel's headline series is the same
# aggregate of the same expression, so the red line and the alert can never disagree.
MID_PRICE_AGGREGATE = "max"
# Reports younger than this may still be on their way (another partition, a flush interval): loss accounting
# looks only at older ones, so nothing in flight is ever counted as lost.
SETTLE_S = 60
# The rollup's rows in the time range; the minute holding the range's start counts whole (a point, not a gap).
ROLLUP_RANGE = "minute >= toStartOfMinute($__fromTime_ms) AND minute <= $__toTime_ms"


def _raw(spec: SchemaSpec, columns: str) -> str:
    return (
        f"SELECT $__timeInterval_ms(timestamp) AS time, {columns}\n"
        f"FROM {spec.database}.{spec.target}\n"
        f"WHERE $__timeFilter_ms(timestamp) AND $__interval_s < {ROLLUP_GRAIN_S}\n"
        "GROUP BY time"
    )


def _rolled_up(spec: SchemaSpec, columns: str) -> str:
    return (
        f"SELECT $__timeInterval_ms(minute) AS time, {columns}\n"
        f"FROM {spec.database}.{spec.rollup}\n"
        f"WHERE {ROLLUP_RANGE} AND $__interval_s >= {ROLLUP_GRAIN_S}\n"
        "GROUP BY time"
    )


def series(spec: SchemaSpec, raw_columns: str, rollup_columns: str) -> str:
    """The raw table below a minute per point, the rollup from a minute up: one query, one branch read."""
    return (
        f"SELECT * FROM (\n{_raw(spec, raw_columns)}\nUNION ALL\n{_rolled_up(spec, rollup_columns)}\n)\nORDER BY time"
    )


def in_range(spec: SchemaSpec, columns: str) -> str:
    return f"SELECT {columns}\nFROM {spec.database}.{spec.target}\nWHERE $__timeFilter_ms(timestamp)"


def mid_price_aggregate(spec: SchemaSpec, level: int | str) -> str:
    """What the mid-price rule evaluates, and the mid-price panel's headline series."""
    return f"{MID_PRICE_AGGREGATE}({mid_price_sql(level, spec.shape.random_decimal)})"


def mid_price_rule_sql(spec: SchemaSpec) -> str:
    """The rule reads the raw table, always: it must see every single report in its window."""
    return (
        f"SELECT $__timeInterval_ms(timestamp) AS time, {mid_price_aggregate(spec, 1)} AS mid_price\n"
        f"FROM {spec.database}.{spec.target}\n"
        "WHERE $__timeFilter_ms(timestamp)\n"
        "GROUP BY time\nORDER BY time"
    )


def newest_row_age(spec: SchemaSpec, as_series: bool = False) -> str:
    """Seconds since the newest report in range; with no row in range, max() is 1970 and the age huge.

    `as_series` adds a `time` column: an alert query must return a time series.
    """
    age = "dateDiff('second', max(timestamp), now64(3)) AS newest_row_age_s"
    return in_range(spec, f"now64(3) AS time, {age}" if as_series else age)


def reports_lost(spec: SchemaSpec, as_series: bool = False) -> str:
    """Per producer, sequence numbers missing between the lowest and highest stored in range (older than
    SETTLE_S), summed: duplicate deliveries cannot hide a loss, nor fake one (distinct sequences)."""
    lost = (
        "SELECT max(sequence) - min(sequence) + 1 - uniqExact(sequence) AS lost\n"
        f"FROM {spec.database}.{spec.target}\n"
        f"WHERE $__timeFilter_ms(timestamp) AND timestamp <= now64(3) - INTERVAL {SETTLE_S} SECOND "
        "AND producer_id != 0\n"
        "GROUP BY producer_id"
    )
    columns = "now64(3) AS time, toInt64(sum(lost)) AS reports_lost" if as_series else "sum(lost) AS reports_lost"
    return f"SELECT {columns}\nFROM (\n{lost}\n)"


def duplicate_deliveries(spec: SchemaSpec) -> str:
    """Deliveries the target collapsed: every delivery is counted in the rollup (merges do not undo that),
    against the distinct Kafka positions it saw."""
    return (
        "SELECT sum(deliveries) - groupBitmapMerge(positions) AS duplicates_collapsed\n"
        f"FROM {spec.database}.{spec.rollup}\n"
        f"WHERE {ROLLUP_RANGE}"
    )
