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
import uuid

from dashboards.macros import TimeRange, expand_macros
from dashboards.queries import queried_panels
from generator.contract import ReportShape
from schema.spec import SchemaSpec
from tests.support.clickhouse import ChdbClient, apply_schema, shared_session
from tests.support.grafana import raw_branch_only

DAYS = 30
REPORT_INTERVAL_MS = 100  # the generator's default pace
INTERVAL_S = 30 * 60
ROUNDS = 5
INSERT_CHUNK_ROWS = 2_000_000


def _fill(spec: SchemaSpec, rows: int, now_ms: int) -> None:
    target = f"{spec.database}.{spec.target}"
    for start in range(0, rows, INSERT_CHUNK_ROWS):
        count = min(INSERT_CHUNK_ROWS, rows - start)
        shared_session().query(
            f"INSERT INTO {target} (timestamp, bid_1, ask_1, bid_avg, ask_avg, _partition, _offset, _timestamp_ms) "
            f"SELECT fromUnixTimestamp64Milli(toInt64({now_ms} - ({rows} - {start} - number) * {REPORT_INTERVAL_MS}))"
            " AS ts, round(1 + randUniform(0, 9), 1) AS bid, round(1 + randUniform(0, 9), 1) AS ask, bid, ask, 0, "
            f"{start} + number, ts FROM numbers({count})"
        )


def _run(sql: str) -> tuple[float, int]:
    result = shared_session().query(sql, "CSV")
    return result.elapsed(), result.storage_rows_read()


def run() -> str:
    client = ChdbClient()
    spec = SchemaSpec(database=f"bench_{uuid.uuid4().hex[:8]}", shape=ReportShape(bid_size=1, ask_size=1))
    apply_schema(client, spec)
    rows = DAYS * 86_400 * 1000 // REPORT_INTERVAL_MS
    now_ms = int(time.time() * 1000)
    _fill(spec, rows, now_ms)
    mid_price = queried_panels(spec, 9.9, "bench")[0]
    window = TimeRange(now_ms - DAYS * 86_400_000, now_ms, INTERVAL_S * 1000)
    rollup_sql = expand_macros(mid_price.sql, window, {"level": "1"})
    raw_sql = raw_branch_only(rollup_sql, INTERVAL_S)
    raw_s, rollup_s, raw_rows, rollup_rows = [], [], 0, 0
    for _ in range(ROUNDS):  # alternate, so both see the same machine
        elapsed, raw_rows = _run(raw_sql)
        raw_s.append(elapsed)
        elapsed, rollup_rows = _run(rollup_sql)
        rollup_s.append(elapsed)
    client.command(f"DROP DATABASE {spec.database}")
    raw_ms, rollup_ms = statistics.median(raw_s) * 1000, statistics.median(rollup_s) * 1000
    return (
        f"bench: dashboard-range days={DAYS} rows={rows} raw_rows_read={raw_rows} rollup_rows_read={rollup_rows} "
        f"raw_ms={raw_ms:.1f} rollup_ms={rollup_ms:.1f} ratio_rows={rollup_rows / raw_rows:.5f} "
        f"ratio_latency={rollup_ms / raw_ms:.4f}"
    )
