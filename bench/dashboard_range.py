"""bench: dashboard-range — the mid-price panel over 30 days at the default rate (10 reports/s, ~26 M rows),
read from the raw table and from the per-minute rollup, side by side in one run on chdb.

The rows are synthesized in ClickHouse with one level per side (the panel reads `timestamp`, `bid_1`,
`ask_1`; a column store reads no other column) and inserted into the target, so the rollup's materialized
view builds the rollup exactly as it does from the Kafka engine's inserts. Grafana's interval for 30 days on
a ~1,000-pixel panel rounds to 30 minutes (`roundInterval`): both paths are asked for that interval.
"""

from __future__ import annotations

import statistics
import time

from bench.synthetic import REPORT_INTERVAL_MS, fill, one_level_schema, timed
from dashboards.macros import TimeRange, expand_macros
from dashboards.panels import queried_panels
from testbed.clickhouse import ChdbClient
from testbed.grafana import raw_branch_only

DAYS = 30
INTERVAL_S = 30 * 60
ROUNDS = 5


def run() -> str:
    client = ChdbClient()
    spec = one_level_schema(client)
    rows = DAYS * 86_400 * 1000 // REPORT_INTERVAL_MS
    now_ms = int(time.time() * 1000)
    fill(spec, rows, now_ms)
    mid_price = queried_panels(spec, 9.9, "bench")[0]
    window = TimeRange(now_ms - DAYS * 86_400_000, now_ms, INTERVAL_S * 1000)
    rollup_sql = expand_macros(mid_price.sql, window, {"level": "1"})
    raw_sql = raw_branch_only(rollup_sql, INTERVAL_S)
    raw_s, rollup_s, raw_rows, rollup_rows = [], [], 0, 0
    for _ in range(ROUNDS):  # alternate, so both see the same machine
        elapsed, raw_rows = timed(raw_sql)
        raw_s.append(elapsed)
        elapsed, rollup_rows = timed(rollup_sql)
        rollup_s.append(elapsed)
    client.command(f"DROP DATABASE {spec.database}")
    raw_ms, rollup_ms = statistics.median(raw_s) * 1000, statistics.median(rollup_s) * 1000
    return (
        f"bench: dashboard-range days={DAYS} rows={rows} raw_rows_read={raw_rows} rollup_rows_read={rollup_rows} "
        f"raw_ms={raw_ms:.1f} rollup_ms={rollup_ms:.1f} ratio_rows={rollup_rows / raw_rows:.5f} "
        f"ratio_latency={rollup_ms / raw_ms:.4f}"
    )
