"""Every panel of the "Market data" dashboard: one function each, with keyword-only fields, in reading order in
`dashboard_panels`. A panel's `key` is stable: alert rules name the panel that shows their state by it.

`${level}` in a panel's SQL is the dashboard's level variable; the SQL builders are in `dashboards.queries`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dashboards.queries import (
    SETTLE_S,
    duplicate_deliveries,
    in_range,
    mid_price_aggregate,
    newest_row_age,
    reports_lost,
    series,
)
from ddl.spec import SchemaSpec, mid_price_sql

LEVEL_VARIABLE = "${level}"
PRICE_UNIT = "currencyUSD"  # display only: the generator's prices carry no currency
FRESH_S, LATE_S = 30, 120  # stat thresholds: green below FRESH_S, amber below LATE_S, red beyond
GREEN, AMBER, RED = "green", "orange", "red"
LATENESS = ((GREEN, None), (AMBER, FRESH_S), (RED, LATE_S))
ZERO_OR_RED = ((GREEN, None), (RED, 1))
# the keys of the panels alert rules link to (dashboards.alerts)
MID_PRICE, FRESHNESS, REPORTS_LOST = "mid-price", "freshness", "reports-lost"


@dataclass(frozen=True, kw_only=True)
class Panel:
    """One panel: what it shows, how to read it, and the query behind it."""

    key: str  # stable: what alert rules link to
    title: str
    kind: str  # Grafana panel type: timeseries | stat | table | alertlist | text
    description: str
    sql: str = ""  # empty for panels without a query (alert list, links)
    unit: str = "none"
    thresholds: tuple[tuple[str, float | None], ...] = ((GREEN, None),)  # (color, from value), ascending
    threshold_line: bool = False  # draw the thresholds on the chart (the alert's)
    options: dict[str, Any] = field(default_factory=dict)
    width: int = 0  # 0: the default for its kind
    height: int = 0

    @property
    def format(self) -> int:
        """The plugin's result format: 0 = time series, 1 = table."""
        return 0 if self.kind == "timeseries" else 1


def mid_price(spec: SchemaSpec, threshold: float) -> Panel:
    mid = mid_price_sql(LEVEL_VARIABLE, spec.shape.random_decimal)
    level, finer = LEVEL_VARIABLE, spec.shape.random_decimal + 1  # the rollup keeps bid + ask: halve it exactly
    return Panel(
        key=MID_PRICE,
        title=f"Mid price (ask_{level} + bid_{level}) / 2",
        kind="timeseries",
        description=(
            f"Highest and lowest mid price per interval at the chosen level. The alert watches the highest "
            f"at level 1: it fires above the red line ({threshold:g}); its state shows on this chart."
        ),
        sql=series(
            spec,
            f"{mid_price_aggregate(spec, level)} AS mid_price_max, min({mid}) AS mid_price_min",
            f"toDecimal64(max(mid2_max_{level}), {finer}) / 2 AS mid_price_max, "
            f"toDecimal64(min(mid2_min_{level}), {finer}) / 2 AS mid_price_min",
        ),
        unit=PRICE_UNIT,
        thresholds=((GREEN, None), (RED, threshold)),
        threshold_line=True,
    )


def best_bid_and_ask(spec: SchemaSpec) -> Panel:
    return Panel(
        key="best-bid-ask",
        title="Best bid and best ask (level 1)",
        kind="timeseries",
        description="Highest level-1 bid and lowest level-1 ask per interval. An ask below the bid would mean "
        "crossed data.",
        sql=series(
            spec,
            "max(bid_1) AS best_bid, min(ask_1) AS best_ask",
            "max(best_bid) AS best_bid, min(best_ask) AS best_ask",
        ),
        unit=PRICE_UNIT,
    )


def stats_averages(spec: SchemaSpec) -> Panel:
    return Panel(
        key="stats-averages",
        title="Average bid and ask (stats)",
        kind="timeseries",
        description="The reports' own `stats` averages over all levels: the latest report's per interval.",
        sql=series(
            spec,
            "argMax(bid_avg, timestamp) AS bid_avg, argMax(ask_avg, timestamp) AS ask_avg",
            "argMaxMerge(bid_avg_last) AS bid_avg, argMaxMerge(ask_avg_last) AS ask_avg",
        ),
        unit=PRICE_UNIT,
    )


def rows_ingested(spec: SchemaSpec) -> Panel:
    return Panel(
        key="rows-ingested",
        title="Rows ingested per second",
        kind="timeseries",
        description="Reports stored per second (each counted once, however often Kafka delivered it). Flat at "
        "the generator's rate is good; a drop to zero means the generator, Kafka or ClickHouse's consumer "
        "stopped: see the stats on the right and the runbook.",
        sql=series(
            spec,
            "uniqExact(_partition, _offset) / $__interval_s AS rows_per_s",
            "groupBitmapMerge(positions) / $__interval_s AS rows_per_s",
        ),
        unit="rowsps",
    )


def end_to_end_delay(spec: SchemaSpec) -> Panel:
    return Panel(
        key="delay",
        title="End-to-end delay",
        kind="stat",
        description="Now minus the newest Kafka timestamp stored: how far ClickHouse is behind the topic. About "
        f"the flush interval is normal; amber from {FRESH_S} s, red from {LATE_S} s.",
        sql=in_range(spec, "dateDiff('millisecond', max(_timestamp_ms), now64(3)) / 1000 AS delay_s"),
        unit="s",
        thresholds=LATENESS,
    )


def freshness(spec: SchemaSpec) -> Panel:
    return Panel(
        key=FRESHNESS,
        title="Freshness of the newest row",
        kind="stat",
        description="Age of the newest report in range. Seconds is normal; a huge value means no row in range "
        "at all. The freshness alert fires past its limit.",
        sql=newest_row_age(spec),
        unit="s",
        thresholds=LATENESS,
    )


def dead_letters(spec: SchemaSpec) -> Panel:
    return Panel(
        key="dead-letters",
        title="Rows in the dead-letter table",
        kind="stat",
        description="Messages in range that failed to parse, kept verbatim in the dead-letter table. Anything "
        "above 0 is red: query the table for `error` and `raw_message` (runbook).",
        sql=f"SELECT uniqExact(partition, offset) AS dead_letter_rows\nFROM {spec.database}.{spec.dead_letter}\n"
        "WHERE $__timeFilter_ms(seen_at)",
        thresholds=ZERO_OR_RED,
    )


def _our_consumers(spec: SchemaSpec) -> str:
    return f"FROM system.kafka_consumers\nWHERE database = '{spec.database}' AND table = '{spec.queue}'"


def consumer_exceptions(spec: SchemaSpec) -> Panel:
    return Panel(
        key="consumer-exceptions",
        title="Kafka consumer exceptions (5 min)",
        kind="stat",
        description="Exceptions ClickHouse's Kafka consumers raised in the last 5 minutes. 0 is normal; see the "
        "consumers table below for the last message.",
        sql="SELECT sum(length(arrayFilter(t -> t > now() - INTERVAL 5 MINUTE, exceptions.time)))"
        f" AS recent_exceptions\n{_our_consumers(spec)}",
        thresholds=ZERO_OR_RED,
    )


def lost_reports(spec: SchemaSpec) -> Panel:
    return Panel(
        key=REPORTS_LOST,
        title="Reports lost",
        kind="stat",
        description="Reports the generator sent but ClickHouse never stored: gaps in each producer's sequence "
        f"numbers, counting reports older than {SETTLE_S} s (younger ones may still be on their way). Anything "
        "above 0 is red and the loss alert fires: see the runbook.",
        sql=reports_lost(spec),
        thresholds=ZERO_OR_RED,
        width=12,
    )


def duplicates_collapsed(spec: SchemaSpec) -> Panel:
    return Panel(
        key="duplicates",
        title="Duplicate deliveries collapsed",
        kind="stat",
        description="Messages the Kafka engine delivered more than once (at least once: a restart or rebalance "
        "can repeat a block), each stored and counted once. Amber above 0: nothing is wrong with the numbers.",
        sql=duplicate_deliveries(spec),
        thresholds=((GREEN, None), (AMBER, 1)),
        width=12,
    )


def stack_alerts(stack: str) -> Panel:
    states = ("firing", "pending", "noData", "normal", "error", "recovering")
    return Panel(
        key="alerts",
        title="Alerts of this stack",
        kind="alertlist",
        description="The pipeline's rules (mid price, freshness, lost reports) for this stack, with their current "
        "state.",
        options={
            "viewMode": "list",
            "groupMode": "default",
            "maxItems": 10,
            "sortOrder": 1,
            "dashboardAlerts": False,
            "alertName": "",
            "alertInstanceLabelFilter": f'{{stack="{stack}"}}',
            "stateFilter": dict.fromkeys(states, True),
        },
    )


def kafka_consumers(spec: SchemaSpec) -> Panel:
    return Panel(
        key="kafka-consumers",
        title="Kafka consumers",
        kind="table",
        description="ClickHouse's consumers of the topic: seconds since each last polled, messages read, "
        "exceptions and the last one, commits and rebalances.",
        sql="SELECT consumer_id,\n"
        "    dateDiff('second', last_poll_time, now()) AS last_poll_age_s,\n"
        "    num_messages_read AS messages_read,\n"
        "    length(exceptions.text) AS exceptions,\n"
        "    if(empty(exceptions.text), '', exceptions.text[-1]) AS last_exception,\n"
        "    num_commits AS commits,\n"
        "    num_rebalance_assignments AS rebalances\n"
        f"{_our_consumers(spec)}\n"
        "ORDER BY consumer_id",
    )


def dashboard_panels(spec: SchemaSpec, threshold: float, stack: str) -> list[Panel]:
    """Every panel that runs SQL or lists alerts, in reading order (the links panel is added beside the alert
    list by `dashboards.market`)."""
    return [
        mid_price(spec, threshold),
        best_bid_and_ask(spec),
        stats_averages(spec),
        rows_ingested(spec),
        end_to_end_delay(spec),
        freshness(spec),
        dead_letters(spec),
        consumer_exceptions(spec),
        lost_reports(spec),
        duplicates_collapsed(spec),
        stack_alerts(stack),
        kafka_consumers(spec),
    ]


def queried_panels(spec: SchemaSpec, threshold: float, stack: str) -> list[Panel]:
    """The panels that run SQL."""
    return [panel for panel in dashboard_panels(spec, threshold, stack) if panel.sql]
