"""Storage per report and ingest throughput of the schema, on chdb, side by side in one run.

storage: on-disk bytes per report after OPTIMIZE FINAL for our target table, the original schema
(Float32 levels, DateTime64(9), a named Tuple, default codec) and the information bound of the values.
ingest: rows/s through the Kafka stand-in and its views into the target vs. straight into the target.
"""

from __future__ import annotations

import math
import statistics
import time
import uuid

import orjson

from core.contract import LEVEL_PRICE_STEP, ReportShape
from ddl.spec import SchemaSpec
from generator.report import ReportFactory
from testbed.clickhouse import ChdbClient, apply_schema, as_kafka_rows

STORAGE_REPORTS = 200_000
INGEST_REPORTS = 50_000
INSERT_CHUNK = 10_000
INGEST_ROUNDS = 5
REPORT_INTERVAL_S = 0.1  # the generator's default pace, so timestamps look like production


def information_bound_bytes(shape: ReportShape) -> float:
    """Σ over levels of log2(distinct values in [start, 10·i] at the configured decimals), in bytes."""
    scale = 10**shape.random_decimal
    bits = 0.0
    for side in ("bid", "ask"):
        for level in range(1, shape.level_count(side) + 1):
            distinct = round((level * LEVEL_PRICE_STEP - shape.random_start) * scale) + 1
            bits += math.log2(distinct)
    return bits / 8


def reports(shape: ReportShape, count: int) -> list[bytes]:
    """Generator reports with timestamps at the default pace (not the speed they were built at)."""
    messages = ReportFactory(shape, seed=11).batch(count)
    start = 1_795_000_000.0
    paced = []
    for index, message in enumerate(messages):
        report = orjson.loads(message)
        report["timestamp"] = round(start + index * REPORT_INTERVAL_S + (index % 7) * 0.0013, 6)
        paced.append(orjson.dumps(report))
    return paced


def insert(client: ChdbClient, table: str, lines: list[bytes]) -> None:
    for start in range(0, len(lines), INSERT_CHUNK):
        client.insert_json_lines(table, lines[start : start + INSERT_CHUNK])


def bytes_per_row(client: ChdbClient, database: str, table: str) -> float:
    client.command(f"OPTIMIZE TABLE {database}.{table} FINAL")
    parts = f"system.parts WHERE database = '{database}' AND table = '{table}' AND active"
    (on_disk, rows), *_ = client.query(f"SELECT sum(bytes_on_disk), sum(rows) FROM {parts}")
    return int(on_disk) / int(rows)


def seed_table_ddl(database: str, shape: ReportShape) -> str:
    levels = ", ".join(f"{name} Float32" for name in shape.price_names())
    return (
        f"CREATE TABLE {database}.seed (timestamp DateTime64(9), {levels}, "
        "stats Tuple(bid_avg Float32, ask_avg Float32)) ENGINE = MergeTree ORDER BY timestamp"
    )


def run_storage() -> str:
    client, spec = ChdbClient(), SchemaSpec(database=f"bench_{uuid.uuid4().hex[:8]}")
    apply_schema(client, spec)
    messages = reports(spec.shape, STORAGE_REPORTS)
    insert(client, f"{spec.database}.{spec.queue}", as_kafka_rows(messages))
    ours = bytes_per_row(client, spec.database, spec.target)
    client.command(seed_table_ddl(spec.database, spec.shape))
    insert(client, f"{spec.database}.seed", [_seed_row(m) for m in messages])
    seed = bytes_per_row(client, spec.database, "seed")
    bound = information_bound_bytes(spec.shape)
    client.command(f"DROP DATABASE {spec.database} SYNC")
    return (
        f"bench: storage bytes_per_row={ours:.1f} seed_bytes_per_row={seed:.1f} bound_bytes_per_row={bound:.1f} "
        f"ratio_vs_seed={ours / seed:.2f} ratio_vs_bound={ours / bound:.2f}"
    )


def _seed_row(message: bytes) -> bytes:
    """The original schema's row: the same values, stats as the named tuple it declared."""
    report = orjson.loads(message)
    bid_avg, ask_avg = report.pop("stats")
    report["stats"] = {"bid_avg": bid_avg, "ask_avg": ask_avg}
    return orjson.dumps(report)


def run_ingest() -> str:
    """Reports through the Kafka stand-in and every view (target, dead letters, rollup) against the same
    reports inserted straight into a copy of the target; alternated over rounds, medians compared."""
    mv_rates, direct_rates = [], []
    for _ in range(INGEST_ROUNDS):
        mv_rate, direct_rate = _ingest_once()
        mv_rates.append(mv_rate)
        direct_rates.append(direct_rate)
    mv_rate, direct_rate = statistics.median(mv_rates), statistics.median(direct_rates)
    return (
        f"bench: ingest rows_per_s={mv_rate:.0f} direct_rows_per_s={direct_rate:.0f} "
        f"ratio_mv_vs_direct={mv_rate / direct_rate:.2f} rounds={INGEST_ROUNDS}"
    )


def _ingest_once() -> tuple[float, float]:
    client, spec = ChdbClient(), SchemaSpec(database=f"bench_{uuid.uuid4().hex[:8]}")
    apply_schema(client, spec)
    messages = reports(spec.shape, INGEST_REPORTS)
    through_views = as_kafka_rows(messages)
    started = time.perf_counter()
    insert(client, f"{spec.database}.{spec.queue}", through_views)
    mv_rate = INGEST_REPORTS / (time.perf_counter() - started)
    client.command(f"CREATE TABLE {spec.database}.direct AS {spec.database}.{spec.target}")
    direct = [_target_row(m, offset) for offset, m in enumerate(messages)]
    started = time.perf_counter()
    insert(client, f"{spec.database}.direct", direct)
    direct_rate = INGEST_REPORTS / (time.perf_counter() - started)
    client.command(f"DROP DATABASE {spec.database} SYNC")
    return mv_rate, direct_rate


def _target_row(message: bytes, offset: int) -> bytes:
    """The same report shaped like the target table, for the direct insert."""
    report = orjson.loads(message)
    bid_avg, ask_avg = report.pop("stats")
    report.update(bid_avg=bid_avg, ask_avg=ask_avg, _partition=0, _offset=offset, _timestamp_ms=report["timestamp"])
    return orjson.dumps(report)
