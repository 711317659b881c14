"""bench: alert-query — the mid-price rule's SQL over its window on a 10M-row target table, against the
same aggregation over the whole table, on chdb, side by side in one run.

The table holds 10,000,000 reports at the generator's default pace (one per 0.1 s: 11.6 days). It is
synthesized in ClickHouse with one level per side: the query reads only `timestamp`, `bid_1` and `ask_1`,
and a column store reads no other column, so more levels would change the insert time, not the result.
"""

from __future__ import annotations

import statistics
import time

from bench.synthetic import fill, one_level_schema, timed
from dashboards.alerts import QUERY_INTERVAL_MS, pipeline_rules
from dashboards.macros import TimeRange, expand_macros
from testbed.clickhouse import ChdbClient

TABLE_ROWS = 10_000_000
ROUNDS = 5
GRANULE_ROWS = 8192


def run() -> str:
    client = ChdbClient()
    spec = one_level_schema(client)
    now_ms = int(time.time() * 1000)
    fill(spec, TABLE_ROWS, now_ms)
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
        elapsed, rows_read = timed(window_sql)
        window_s.append(elapsed)
        whole_s.append(timed(whole_sql)[0])
    client.command(f"DROP DATABASE {spec.database}")
    ratio = statistics.median(window_s) / statistics.median(whole_s)
    return (
        f"bench: alert-query rows_read={rows_read} window_rows={int(window_rows)} table_rows={TABLE_ROWS} "
        f"rows_read_limit={int(window_rows) + 2 * GRANULE_ROWS} window_ms={statistics.median(window_s) * 1000:.1f} "
        f"full_scan_ms={statistics.median(whole_s) * 1000:.1f} ratio_latency_vs_full_scan={ratio:.4f}"
    )
