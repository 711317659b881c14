"""Every panel of the dashboard, declared by intent, and every SQL query Grafana runs, from the `SchemaSpec`.

Queries are written with the ClickHouse plugin's macros: `$__timeFilter_ms(c)` restricts a DateTime64(3)
column to the dashboard's (or the rule's) time range — on the target's ORDER BY column, so only the
granules of that range are read — and `$__timeInterval_ms(c)` buckets it. `${level}` is the dashboard's
level variable.

Time series read one of two sources, chosen inside the query by the panel's interval: the raw table below
a minute, the per-minute rollup (`ROLLUP_GRAIN_S`) from a minute up, so a 30-day range reads ~43 k rollup
rows instead of ~26 M reports. The inactive branch's filter is a constant false, and ClickHouse reads
nothing for it. Both branches give the same points over whole minutes (tests/test_grafana_queries.py); over a
range starting mid-minute the rollup's first point covers that whole minute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schema.spec import ROLLUP_GRAIN_S, SchemaSpec, mid_price_sql

LEVEL_VARIABLE = "${level}"
# The mid-price rule fires on the highest mid price in its window: the panel's headline series is the same
# aggregate of the same expression, so the red line and the alert can never disagree.
MID_PRICE_AGGREGATE = "max"
PRICE_UNIT = "currencyUSD"  # display only: the generator's prices carry no currency
FRESH_S, LATE_S = 30, 120  # stat thresholds: green below FRESH_S, amber below LATE_S, red beyond
RUNBOOK_ANCHOR = "#runbook"
# Reports younger than this may still be on their way (another partition, a flush interval): loss accounting
# looks only at older ones, so nothing in flight is ever counted as lost.
SETTLE_S = 60
# The rollup's rows in the time range; the minute holding the range's start counts whole (a point, not a gap).
ROLLUP_RANGE = "minute >= toStartOfMinute($__fromTime_ms) AND minute <= $__toTime_ms"

GREEN, AMBER, RED = "green", "orange", "red"


@dataclass(frozen=True)
class Panel:
    """One panel: what it shows, how to read it, and the query behind it."""

    title: str
    kind: str  # Grafana panel type: timeseries | stat | table | alertlist | text
    description: str
    sql: str = ""  # empty for panels without a query (alert list, links)
    unit: str = "none"
    thresholds: tuple[tuple[str, float | None], ...] = ((GREEN, None),)  # (color, from value), ascending
    threshold_line: bool = False  # draw the thresholds on the chart (the alert's)
    alert_rule_uid: str = ""  # the rule whose state this panel shows
    options: dict[str, Any] = field(default_factory=dict)
    width: int = 0  # 0: the default for its kind
    height: int = 0

    @property
    def format(self) -> int:
        """The plugin's result format: 0 = time series, 1 = table."""
        return 0 if self.kind == "timeseries" else 1


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


def _series(spec: SchemaSpec, raw_columns: str, rollup_columns: str) -> str:
    """The raw table below a minute per point, the rollup from a minute up: one query, one branch read."""
    return (
        f"SELECT * FROM (\n{_raw(spec, raw_columns)}\nUNION ALL\n{_rolled_up(spec, rollup_columns)}\n)\nORDER BY time"
    )


def _in_range(spec: SchemaSpec, columns: str) -> str:
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
    return _in_range(spec, f"now64(3) AS time, {age}" if as_series else age)


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


def _mid_price_panel(spec: SchemaSpec, threshold: float) -> Panel:
    mid = mid_price_sql(LEVEL_VARIABLE, spec.shape.random_decimal)
    level, finer = LEVEL_VARIABLE, spec.shape.random_decimal + 1  # the rollup keeps bid + ask: halve it exactly
    return Panel(
        title=f"Mid price (ask_{level} + bid_{level}) / 2",
        kind="timeseries",
        description=(
            f"Highest and lowest mid price per interval at the chosen level. The alert watches the highest "
            f"at level 1: it fires above the red line ({threshold:g}); its state shows on this chart."
        ),
        sql=_series(
            spec,
            f"{mid_price_aggregate(spec, level)} AS mid_price_max, min({mid}) AS mid_price_min",
            f"toDecimal64(max(mid2_max_{level}), {finer}) / 2 AS mid_price_max, "
            f"toDecimal64(min(mid2_min_{level}), {finer}) / 2 AS mid_price_min",
        ),
        unit=PRICE_UNIT,
        thresholds=((GREEN, None), (RED, threshold)),
        threshold_line=True,
        alert_rule_uid="mid-price-above",
    )


def dashboard_panels(spec: SchemaSpec, threshold: float, stack: str) -> list[Panel]:
    """Every panel, in reading order."""
    return [
        _mid_price_panel(spec, threshold),
        Panel("Best bid and best ask (level 1)", "timeseries",
              "Highest level-1 bid and lowest level-1 ask per interval. An ask below the bid would mean crossed data.",
              _series(spec, "max(bid_1) AS best_bid, min(ask_1) AS best_ask",
                      "max(best_bid) AS best_bid, min(best_ask) AS best_ask"),
              unit=PRICE_UNIT),
        Panel("Average bid and ask (stats)", "timeseries",
              "The reports' own `stats` averages over all levels: the latest report's per interval.",
              _series(spec, "argMax(bid_avg, timestamp) AS bid_avg, argMax(ask_avg, timestamp) AS ask_avg",
                      "argMaxMerge(bid_avg_last) AS bid_avg, argMaxMerge(ask_avg_last) AS ask_avg"),
              unit=PRICE_UNIT),
        Panel("Rows ingested per second", "timeseries",
              "Reports stored per second (each counted once, however often Kafka delivered it). Flat at the "
              "generator's rate is good; a drop to zero means the generator, Kafka or ClickHouse's consumer "
              "stopped: see the stats on the right and the runbook.",
              _series(spec, "uniqExact(_partition, _offset) / $__interval_s AS rows_per_s",
                      "groupBitmapMerge(positions) / $__interval_s AS rows_per_s"),
              unit="rowsps"),
        Panel("End-to-end delay", "stat",
              "Now minus the newest Kafka timestamp stored: how far ClickHouse is behind the topic. About the "
              f"flush interval is normal; amber from {FRESH_S} s, red from {LATE_S} s.",
              _in_range(spec, "dateDiff('millisecond', max(_timestamp_ms), now64(3)) / 1000 AS delay_s"),
              unit="s", thresholds=((GREEN, None), (AMBER, FRESH_S), (RED, LATE_S))),
        Panel("Freshness of the newest row", "stat",
              "Age of the newest report in range. Seconds is normal; a huge value means no row in range at all. "
              "The freshness alert fires past its limit.",
              newest_row_age(spec), unit="s", thresholds=((GREEN, None), (AMBER, FRESH_S), (RED, LATE_S)),
              alert_rule_uid="data-freshness"),
        Panel("Rows in the dead-letter table", "stat",
              "Messages in range that failed to parse, kept verbatim in the dead-letter table. Anything above "
              "0 is red: query the table for `error` and `raw_message` (runbook).",
              f"SELECT uniqExact(partition, offset) AS dead_letter_rows\nFROM {spec.database}.{spec.dead_letter}\n"
              "WHERE $__timeFilter_ms(seen_at)",
              thresholds=((GREEN, None), (RED, 1))),
        Panel("Kafka consumer exceptions (5 min)", "stat",
              "Exceptions ClickHouse's Kafka consumers raised in the last 5 minutes. 0 is normal; see the "
              "consumers table below for the last message.",
              "SELECT sum(length(arrayFilter(t -> t > now() - INTERVAL 5 MINUTE, exceptions.time)))"
              " AS recent_exceptions\nFROM system.kafka_consumers\n"
              f"WHERE database = '{spec.database}' AND table = '{spec.queue}'",
              thresholds=((GREEN, None), (RED, 1))),
        Panel("Reports lost", "stat",
              "Reports the generator sent but ClickHouse never stored: gaps in each producer's sequence numbers, "
              f"counting reports older than {SETTLE_S} s (younger ones may still be on their way). Anything "
              "above 0 is red and the loss alert fires: see the runbook.",
              reports_lost(spec), thresholds=((GREEN, None), (RED, 1)), alert_rule_uid="reports-lost", width=12),
        Panel("Duplicate deliveries collapsed", "stat",
              "Messages the Kafka engine delivered more than once (at least once: a restart or rebalance can "
              "repeat a block), each stored and counted once. Amber above 0: nothing is wrong with the numbers.",
              duplicate_deliveries(spec), thresholds=((GREEN, None), (AMBER, 1)), width=12),
        Panel("Alerts of this stack", "alertlist",
              "The pipeline's rules (mid price, freshness, lost reports) for this stack, with their current state.",
              options={"viewMode": "list", "groupMode": "default", "maxItems": 10, "sortOrder": 1,
                       "dashboardAlerts": False, "alertName": "", "alertInstanceLabelFilter": f'{{stack="{stack}"}}',
                       "stateFilter": {"firing": True, "pending": True, "noData": True, "normal": True,
                                       "error": True, "recovering": True}}),
        Panel("Kafka consumers", "table",
              "ClickHouse's consumers of the topic: seconds since each last polled, messages read, exceptions "
              "and the last one, commits and rebalances.",
              "SELECT consumer_id,\n"
              "    dateDiff('second', last_poll_time, now()) AS last_poll_age_s,\n"
              "    num_messages_read AS messages_read,\n"
              "    length(exceptions.text) AS exceptions,\n"
              "    if(empty(exceptions.text), '', exceptions.text[-1]) AS last_exception,\n"
              "    num_commits AS commits,\n"
              "    num_rebalance_assignments AS rebalances\n"
              "FROM system.kafka_consumers\n"
              f"WHERE database = '{spec.database}' AND table = '{spec.queue}'\n"
              "ORDER BY consumer_id"),
    ]  # fmt: skip


def queried_panels(spec: SchemaSpec, threshold: float, stack: str) -> list[Panel]:
    """The panels that run SQL."""
    return [panel for panel in dashboard_panels(spec, threshold, stack) if panel.sql]
