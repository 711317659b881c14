"""bench: alert-query — the mid-price rule's SQL over its window on a 10M-row target table, against the
same aggregation over the whole table, on chdb, side by side in one run.

The table holds 10,000,000 reports at the generator's default pace (one per 0.1 s: 11.6 days). It is
synthesized in ClickHouse with one level per side: the query reads only `timestamp`, `bid_1` and `ask_1`,
and a column store reads no other column, so more levels would change the insert time, not the result.
"""

from __future__ import annotations

import statistics
import time
import uuid

from dashboards.alerts import QUERY_INTERVAL_MS, pipeline_rules
from dashboards.macros import TimeRange, expand_macros
from generator.contract import ReportShape
from schema.spec import SchemaSpec
from tests.support.clickhouse import ChdbClient, apply_schema, shared_session

TABLE_ROWS = 10_000_000
REPORT_INTERVAL_MS = 100
ROUNDS = 5
GRANULE_ROWS = 8192


def _fill(spec: SchemaSpec, now_ms: int) -> None:
    """TABLE_ROWS reports ending now, prices drawn as the generator draws level 1."""
    target = f"{spec.database}.{spec.target}"
    shared_session().query(
        f"INSERT INTO {target} (timestamp, bid_1, ask_1, bid_avg, ask_avg, _partition, _offset, _timestamp_ms) "
        f"SELECT fromUnixTimestamp64Milli(toInt64({now_ms} - ({TABLE_ROWS} - number) * {REPORT_INTERVAL_MS})) AS ts, "
        "round(1 + randUniform(0, 9), 1), round(1 + randUniform(0, 9), 1), 0, 0, 0, number, ts "
        f"FROM numbers({TABLE_ROWS})"
    )


def _run(sql: str) -> tuple[float, int]:
    result = shared_session().query(sql, "CSV")
    return result.elapsed(), result.storage_rows_read()


def run() -> str:
    client = ChdbClient()
    spec = SchemaSpec(database=f"bench_{uuid.uuid4().hex[:8]}", shape=ReportShape(bid_size=1, ask_size=1))
    apply_schema(client, spec)
    now_ms = int(time.time() * 1000)
    _fill(spec, now_ms)
    rule = next(rule for rule in pipeline_rules(spec, 9.9, 5, "bench") if rule.uid == "mid-price-above")
    window = TimeRange(now_ms - rule.window_s * 1000, now_ms, QUERY_INTERVAL_MS)
    whole = TimeRange(0, now_ms, QUERY_INTERVAL_MS)
    window_sql, whole_sql = expand_macros(rule.sql, window), expand_macros(rule.sql, whole)
    (window_rows,), *_ = client.query(
        f"SELECT count() FROM {spec.database}.{spec.target} WHERE "
        + expand_macros("$__timeFilter_ms(timestamp)", window)
    )
    window_s, whole_s, rows_read = [], [], 0
    for _ in range(ROUNDS):  # alternate, so both see the same machine
        elapsed, rows_read = _run(window_sql)
        window_s.append(elapsed)
        whole_s.append(_run(whole_sql)[0])
    client.command(f"DROP DATABASE {spec.database}")
    ratio = statistics.median(window_s) / statistics.median(whole_s)
    return (
        f"bench: alert-query rows_read={rows_read} window_rows={int(window_rows)} table_rows={TABLE_ROWS} "
        f"rows_read_limit={int(window_rows) + 2 * GRANULE_ROWS} window_ms={statistics.median(window_s) * 1000:.1f} "
        f"full_scan_ms={statistics.median(whole_s) * 1000:.1f} ratio_latency_vs_full_scan={ratio:.4f}"
    )
