"""Every SQL query Grafana runs, derived from the schema's `SchemaSpec`.

Queries are written with the ClickHouse plugin's macros: `$__timeFilter_ms(c)` restricts a DateTime64(3)
column to the dashboard's (or the rule's) time range — on the target's ORDER BY column, so only the
granules of that range are read — and `$__timeInterval_ms(c)` buckets it. `${level}` is the dashboard's
level variable.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.schema_sql import SchemaSpec, mid_price_sql

LEVEL_VARIABLE = "${level}"


@dataclass(frozen=True)
class Query:
    title: str
    panel: str  # Grafana panel type: timeseries | stat | table
    sql: str
    unit: str = "none"

    @property
    def format(self) -> int:
        """The plugin's result format: 0 = time series, 1 = table."""
        return 0 if self.panel == "timeseries" else 1


def _series(spec: SchemaSpec, columns: str) -> str:
    return (
        f"SELECT $__timeInterval_ms(timestamp) AS time, {columns}\n"
        f"FROM {spec.database}.{spec.target}\n"
        "WHERE $__timeFilter_ms(timestamp)\n"
        "GROUP BY time\nORDER BY time"
    )


def _in_range(spec: SchemaSpec, columns: str) -> str:
    return f"SELECT {columns}\nFROM {spec.database}.{spec.target}\nWHERE $__timeFilter_ms(timestamp)"


def mid_price_series(spec: SchemaSpec, level: int | str, aggregate: str = "avg") -> str:
    mid = mid_price_sql(level, spec.shape.random_decimal)
    return _series(spec, f"{aggregate}({mid}) AS mid_price")


def newest_row_age(spec: SchemaSpec, as_series: bool = False) -> str:
    """Seconds since the newest report in range; with no row in range, max() is 1970 and the age huge.

    `as_series` adds a `time` column: an alert query must return a time series.
    """
    age = "dateDiff('second', max(timestamp), now64(3)) AS newest_row_age_s"
    return _in_range(spec, f"now64(3) AS time, {age}" if as_series else age)


def dashboard_queries(spec: SchemaSpec) -> list[Query]:
    return [
        Query(f"Mid price (ask_{LEVEL_VARIABLE} + bid_{LEVEL_VARIABLE}) / 2", "timeseries",
              mid_price_series(spec, LEVEL_VARIABLE)),
        Query("Best bid and best ask (level 1)", "timeseries",
              _series(spec, "avg(bid_1) AS best_bid, avg(ask_1) AS best_ask")),
        Query("Average bid and ask (stats)", "timeseries",
              _series(spec, "avg(bid_avg) AS bid_avg, avg(ask_avg) AS ask_avg")),
        Query("Rows ingested per second", "timeseries", _series(spec, "count() / $__interval_s AS rows_per_s"),
              unit="rowsps"),
        Query("End-to-end delay (now - newest Kafka timestamp)", "stat",
              _in_range(spec, "dateDiff('millisecond', max(_timestamp_ms), now64(3)) / 1000 AS delay_s"), unit="s"),
        Query("Freshness of the newest row", "stat", newest_row_age(spec), unit="s"),
        Query("Rows in the dead-letter table", "stat",
              f"SELECT count() AS dead_letter_rows\nFROM {spec.database}.{spec.dead_letter}\n"
              "WHERE $__timeFilter_ms(seen_at)"),
        Query("Kafka consumers", "table",
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
