"""What the query benchmarks share: a target table of one level per side, filled in ClickHouse itself.

The queries measured read `timestamp`, `bid_1`, `ask_1` (and what the rollup's view derives from them); a
column store reads no other column, so more levels would change the insert time, not the result.
"""

from __future__ import annotations

import uuid

from core.contract import ReportShape
from ddl.spec import SchemaSpec
from testbed.clickhouse import ChdbClient, apply_schema, shared_session

REPORT_INTERVAL_MS = 100  # the generator's default pace
INSERT_CHUNK_ROWS = 2_000_000


def one_level_schema(client: ChdbClient) -> SchemaSpec:
    spec = SchemaSpec(database=f"bench_{uuid.uuid4().hex[:8]}", shape=ReportShape(bid_size=1, ask_size=1))
    apply_schema(client, spec)
    return spec


def fill(spec: SchemaSpec, rows: int, now_ms: int) -> None:
    """`rows` reports one REPORT_INTERVAL_MS apart ending now, level 1 drawn as the generator draws it."""
    target = f"{spec.database}.{spec.target}"
    for start in range(0, rows, INSERT_CHUNK_ROWS):
        count = min(INSERT_CHUNK_ROWS, rows - start)
        shared_session().query(
            f"INSERT INTO {target} (timestamp, bid_1, ask_1, bid_avg, ask_avg, _partition, _offset, _timestamp_ms) "
            f"SELECT fromUnixTimestamp64Milli(toInt64({now_ms} - ({rows} - {start} - number) * {REPORT_INTERVAL_MS}))"
            " AS ts, round(1 + randUniform(0, 9), 1) AS bid, round(1 + randUniform(0, 9), 1) AS ask, bid, ask, 0, "
            f"{start} + number, ts FROM numbers({count})"
        )


def timed(sql: str) -> tuple[float, int]:
    """Seconds and rows read by one run of `sql`."""
    result = shared_session().query(sql, "CSV")
    return result.elapsed(), result.storage_rows_read()
