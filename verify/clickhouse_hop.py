"""The ClickHouse hop: canaries land in the target table, rows keep arriving, nothing dead-lettered, the
Kafka consumers are healthy, and the reader user can run every query Grafana runs.

Every check is SQL through the same narrow interface the schema provider uses (`query`), so the tests run
them for real on chdb.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Sequence
from functools import partial
from urllib.parse import urlsplit

from core.clickhouse import ClickHouseClient, SqlReader
from dashboards.alerts import pipeline_rules
from dashboards.macros import TimeRange, expand_macros
from dashboards.panels import queried_panels
from ddl.spec import READER_LIMITS, ROLLUP_GRAIN_S, SchemaSpec
from verify.checks import Failed, wait_for
from verify.kafka_hop import CANARY_MILLISECOND, Canary

RECENT_S = 60  # "rows keep arriving": some generator row in the last minute (or 3 report intervals)
DEAD_LETTER_SLACK_MS = 60_000  # a canary acknowledged before ClickHouse stamped `seen_at`: clocks may differ
EXCEPTION_WINDOW_S = 300  # a consumer exception older than this is history, not a fault
QUERY_WINDOW_MS = 5 * 60_000
QUERY_INTERVALS_MS = (10_000, ROLLUP_GRAIN_S * 1000)  # a panel reads the raw table, then the rollup
# How ClickHouse says no to a reader lifting a limit, or stops a query at one (its error codes' names).
REFUSALS = ("(READONLY)", "(SETTING_CONSTRAINT_VIOLATION)", "(TOO_MANY_ROWS)")


class HttpClickHouse(ClickHouseClient):
    """The shared client on the stack's published HTTP URL; a failure to connect is one check line."""

    def __init__(self, url: str, user: str, password: str) -> None:
        parts = urlsplit(url)
        try:
            super().__init__(parts.hostname or "", parts.port or 0, user, password)
        except Exception as error:  # the driver's message is a page long: keep the reason
            errno = re.search(r"\[Errno -?\d+\] [^\"')]+", str(error))
            raise Failed(f"an answer from ClickHouse at {url}", errno[0] if errno else str(error)[:200]) from None


CONSUMER_SLACK_S = 15.0  # the Kafka engine's poll and block assembly, beyond its flush interval


def landing_bound_s(spec: SchemaSpec) -> float:
    """How long a canary may take to become queryable: a few flush intervals plus the consumer's slack."""
    return 3 * spec.flush_interval_ms / 1000 + CONSUMER_SLACK_S


def _positions(canaries: Sequence[Canary]) -> str:
    return ", ".join(f"({c.partition}, {c.offset})" for c in canaries)


class ClickHouseHop:
    def __init__(self, client: SqlReader, spec: SchemaSpec) -> None:
        self._client = client
        self._spec = spec
        self._target = f"{spec.database}.{spec.target}"

    def canaries_landed(self, canaries: Sequence[Canary]) -> list[float]:
        """Milliseconds from each canary's acknowledgement to its row being queryable."""
        latencies, bound = [], landing_bound_s(self._spec)
        for canary in canaries:
            where = (f"_partition = {canary.partition} AND _offset = {canary.offset} "
                     f"AND toUnixTimestamp64Milli(timestamp) = {canary.timestamp_ms}")  # fmt: skip
            if not wait_for(partial(self._present, where), bound - (time.time() - canary.acked_at)):
                raise Failed(
                    f"the canary at partition {canary.partition}, offset {canary.offset} in "
                    f"{self._target} within {bound:g} s",
                    "no such row",
                )
            latencies.append(max(0.0, (time.time() - canary.acked_at) * 1000))
        return latencies

    def rows_arriving(self, report_interval_s: float) -> str:
        """Generator rows (not canaries: their timestamps end in .999) stored in the last minute, or in the
        last three report intervals when the generator is paced slower than that."""
        window_s = max(RECENT_S, 3 * report_interval_s)
        organic = self._count(
            self._target,
            f"_timestamp_ms >= now64(3) - INTERVAL {window_s:g} SECOND "
            f"AND toUnixTimestamp64Milli(timestamp) % 1000 != {CANARY_MILLISECOND}",
        )
        if organic <= 0:
            raise Failed(f"rows from the generator in the last {window_s:g} s", "none besides canaries")
        return f"{organic} generator rows in the last {window_s:g} s"

    def no_dead_letters(self, canaries: Sequence[Canary]) -> str:
        """No message at a canary's position dead-lettered since the canaries were sent."""
        table = f"{self._spec.database}.{self._spec.dead_letter}"
        since_ms = int(min(c.acked_at for c in canaries) * 1000) - DEAD_LETTER_SLACK_MS
        dead = self._count(table, f"topic = '{self._spec.topic}' AND (partition, offset) IN ({_positions(canaries)}) "
                                  f"AND seen_at >= fromUnixTimestamp64Milli({since_ms})")  # fmt: skip
        if dead:
            raise Failed(f"no canary in {table}", f"{dead}")
        return f"no canary in {table}"

    def consumers_healthy(self) -> str:
        """As Grafana's reader: every consumer of our Kafka table is there and none failed recently. ClickHouse
        shows system.kafka_consumers' rows only to a holder of SHOW TABLES on *.* (docs/upstream.md): a reader
        without it sees none, and the consumer panels would be empty and "consumer exceptions" a green 0."""
        rows = self._client.query(
            "SELECT count(), countIf(arrayExists(t -> t > now() - INTERVAL "
            f"{EXCEPTION_WINDOW_S} SECOND, exceptions.time)) FROM system.kafka_consumers "
            f"WHERE database = '{self._spec.database}' AND table = '{self._spec.queue}'"
        )
        consumers, failing = (int(value) for value in rows[0])
        if consumers < self._spec.consumers or failing:
            expected = f"{self._spec.consumers} consumer(s) of {self._spec.queue} without recent exceptions"
            seen = f"{consumers} consumer(s), {failing} with exceptions in the last {EXCEPTION_WINDOW_S} s"
            if consumers == 0:
                seen += " (none visible: does the reader hold SHOW TABLES ON *.*? the panels would be empty)"
            raise Failed(expected, seen)
        return f"{consumers} consumer(s), no exception in the last {EXCEPTION_WINDOW_S} s"

    def every_grafana_query_runs(self, threshold: float) -> str:
        """Run as whoever this client is logged in as (the reader, on a deployed stack): every panel at a
        short interval (raw table) and at a minute (rollup), and both rules."""
        now_ms = int(time.time() * 1000)
        windows = [TimeRange(now_ms - QUERY_WINDOW_MS, now_ms, interval) for interval in QUERY_INTERVALS_MS]
        queries = [(panel.title, panel.sql, windows) for panel in queried_panels(self._spec, threshold, "verify")]
        queries += [(rule.name, rule.sql, windows[:1]) for rule in pipeline_rules(self._spec, threshold, 5, "verify")]
        for title, sql, ranges in queries:
            for window in ranges:
                try:
                    self._client.query(expand_macros(sql, window, {"level": "1"}))
                except Exception as error:
                    raise Failed(f"'{title}' to run", str(error).strip().splitlines()[0]) from None
        return f"{len(queries)} dashboard and alert queries ran, panels on the raw table and on the rollup"

    def limits_hold(self) -> str:
        """As the reader: every attempt to lift a limit of its profile is refused — 0 (unlimited) for each, above
        MAX for the one it may change, leaving read-only — and a table function that needs no grant
        (numbers_mt) is stopped by the row limit before it runs away."""
        rows = int(next(limit.value for limit in READER_LIMITS if limit.setting == "max_rows_to_read"))
        attempts = ["SELECT 1 SETTINGS readonly = 0"]
        for limit in READER_LIMITS:
            lifted = ["'break'"] if isinstance(limit.value, str) else ["0"]
            if limit.lowest is not None:
                lifted.append(str(int(limit.value) + 1))
            attempts += [f"SELECT 1 SETTINGS {limit.setting} = {value}" for value in lifted]
        attempts.append(f"SELECT count() FROM numbers_mt({rows * 10})")
        for sql in attempts:
            try:
                self._client.query(sql)
            except Exception as error:
                reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
                if not any(code in reason for code in REFUSALS):
                    raise Failed(f"`{sql}` refused by a limit of the reader's profile", reason) from None
                continue
            raise Failed(f"`{sql}` refused by a limit of the reader's profile", "it ran")
        return f"{len(attempts) - 1} attempts to lift a limit refused; numbers_mt stopped at {rows:,} rows"

    def first_row_after(self, started_at: float) -> float | None:
        """Seconds from `started_at` (unix) to the first row the Kafka engine delivered after it."""
        rows = self._client.query(
            f"SELECT toUnixTimestamp64Milli(min(_timestamp_ms)), count() FROM {self._target} "
            f"WHERE _timestamp_ms >= fromUnixTimestamp64Milli({int(started_at * 1000)})"
        )
        first_ms, count = (int(value) for value in rows[0])
        return None if not count else max(0.0, first_ms / 1000 - started_at)

    def _present(self, where: str) -> bool:
        return self._count(self._target, where) > 0

    def _count(self, table: str, where: str) -> int:
        return int(self._client.query(f"SELECT count() FROM {table} WHERE {where}")[0][0])


def percentile(values: Sequence[float], fraction: float) -> float:
    """The `fraction` quantile (inclusive method); the only value for a single sample."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]
