"""The rendered schema on a real ClickHouse engine (chdb), fed with the real generator's reports."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from decimal import Decimal

import pytest

from core.contract import ReportShape
from ddl.render import PASSWORD_PLACEHOLDER, schema_objects
from ddl.spec import READER_LIMITS, READER_QUERY_TIMEOUT_S, SchemaSpec, mid_price_sql
from generator.report import ReportFactory
from testbed.clickhouse import ChdbClient, apply_schema, as_kafka_rows, kafka_stand_in
from testbed.contract import parse_report
from testbed.repo import REPO_ROOT


def fresh_spec(**changes: object) -> SchemaSpec:
    return SchemaSpec(database=f"t_{uuid.uuid4().hex[:12]}", **changes)


@pytest.fixture
def client() -> ChdbClient:
    return ChdbClient()


def test_make_sql_prints_statements_in_apply_order() -> None:
    result = subprocess.run(["make", "-s", "sql"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    statements = [s.strip() for s in result.stdout.split("\n;\n") if s.strip()]
    assert statements[0] == "CREATE DATABASE IF NOT EXISTS market"
    kinds = [s.split("\n")[0] for s in statements]
    assert kinds.index("CREATE TABLE IF NOT EXISTS market.metrics") < kinds.index(
        "CREATE MATERIALIZED VIEW IF NOT EXISTS market.metrics_mv TO market.metrics"
    )
    assert result.stdout.endswith("\n;\n")
    assert PASSWORD_PLACEHOLDER in result.stdout and "${" not in result.stdout


def test_every_statement_parses_and_applies(client: ChdbClient) -> None:
    spec = fresh_spec()
    for obj in schema_objects(spec):
        for sql in obj.create:
            client.format_query(sql)
    apply_schema(client, spec)
    tables = {row[0] for row in client.query(f"SELECT name FROM system.tables WHERE database = '{spec.database}'")}
    assert tables == {spec.queue, spec.target, spec.target_view, spec.dead_letter, spec.dead_letter_view,
                      spec.rollup, spec.rollup_view}  # fmt: skip


def test_kafka_table_settings() -> None:
    queue = next(o for o in schema_objects(SchemaSpec(consumers=2)) if o.kind == "kafka_table").create[0]
    for setting in (
        "kafka_format = 'JSONEachRow'",
        "kafka_handle_error_mode = 'stream'",
        "kafka_group_name = 'clickhouse_metrics'",
        "kafka_num_consumers = 2",
        "kafka_flush_interval_ms = 1000",
    ):
        assert setting in queue
    assert "Tuple" not in queue  # the seed's named tuple rejected every message
    assert "_error" in kafka_stand_in(queue) and "ENGINE = Null" in kafka_stand_in(queue)


@pytest.mark.parametrize("shape", [ReportShape(), ReportShape(bid_size=3, ask_size=8, random_decimal=3)])
def test_generator_reports_land_exactly(client: ChdbClient, shape: ReportShape) -> None:
    spec = fresh_spec(shape=shape)
    apply_schema(client, spec)
    messages = ReportFactory(shape, seed=3).batch(300)
    client.insert_json_lines(f"{spec.database}.{spec.queue}", as_kafka_rows(messages))
    mid = mid_price_sql(1, shape.random_decimal)
    rows = client.query(
        f"SELECT toString(timestamp), toString(bid_1), toString(ask_{shape.ask_size}), toString({mid}), "
        f"toString(bid_avg), toString(ask_avg), _offset FROM {spec.database}.{spec.target} ORDER BY _offset"
    )
    assert len(rows) == len(messages)
    for row, message in zip(rows, messages, strict=True):
        report = parse_report(message)
        timestamp, bid_1, ask_last, mid_1, bid_avg, ask_avg, _offset = row
        expected_ms = (report["timestamp"] * 1000).to_integral_value(rounding="ROUND_FLOOR")
        assert abs(_epoch_ms(client, timestamp) - int(expected_ms)) <= 1
        assert Decimal(bid_1) == report["bid_1"]
        assert Decimal(ask_last) == report[f"ask_{shape.ask_size}"]
        assert Decimal(mid_1) == (report["bid_1"] + report["ask_1"]) / 2
        assert [Decimal(bid_avg), Decimal(ask_avg)] == report["stats"]


def _epoch_ms(client: ChdbClient, timestamp: str) -> int:
    return int(client.query(f"SELECT toUnixTimestamp64Milli(toDateTime64('{timestamp}', 3))")[0][0])


def test_mid_price_is_exact_at_the_threshold(client: ChdbClient) -> None:
    spec = fresh_spec(shape=ReportShape(bid_size=1, ask_size=1))
    apply_schema(client, spec)
    rows = [b'{"timestamp": 1795000000.5, "bid_1": 9.9, "ask_1": 10.0, "stats": [9.9, 10.0]}']
    client.insert_json_lines(f"{spec.database}.{spec.queue}", as_kafka_rows(rows))
    mid = mid_price_sql(1, 1)
    assert client.query(f"SELECT toString({mid}), {mid} > 9.9 FROM {spec.database}.{spec.target}") == [("9.95", 1)]


def test_malformed_messages_go_to_the_dead_letter_table(client: ChdbClient) -> None:
    spec = fresh_spec()
    apply_schema(client, spec)
    valid = as_kafka_rows(ReportFactory(spec.shape, seed=5).batch(40))
    # a recent timestamp, as a message whose other fields failed to parse may carry: only `_error` keeps it out
    # of the target (a default 1970 timestamp would also be dropped by the target's TTL, hiding a missing filter)
    broken = [
        json.dumps({"_error": f"Cannot parse input {i}", "_raw_message": f"not json {i}", "_offset": 100 + i,
                    "_partition": 0, "_topic": "metrics_raw", "timestamp": time.time()}).encode()
        for i in range(7)
    ]  # fmt: skip
    client.insert_json_lines(f"{spec.database}.{spec.queue}", valid[:20] + broken + valid[20:])
    assert client.query(f"SELECT count() FROM {spec.database}.{spec.target}") == [(40,)]
    dead = client.query(f"SELECT offset, raw_message, error FROM {spec.database}.{spec.dead_letter} ORDER BY offset")
    assert dead == [(100 + i, f"not json {i}", f"Cannot parse input {i}") for i in range(7)]
    assert client.query(f"SELECT count() FROM {spec.database}.{spec.target} WHERE _offset >= 100") == [(0,)]


@pytest.mark.parametrize("shape", [ReportShape(), ReportShape(bid_size=3, ask_size=1, random_decimal=2)])
def test_every_view_writes_exactly_its_target_s_columns(client: ChdbClient, shape: ReportShape) -> None:
    """A materialized view inserts by column name: a target column its SELECT omits is stored as its default (0)
    without an error, and an extra one is dropped. Each view's output must be its target's columns."""
    spec = fresh_spec(shape=shape)
    apply_schema(client, spec)
    views = {spec.target_view: spec.target, spec.dead_letter_view: spec.dead_letter, spec.rollup_view: spec.rollup}
    for view, target in views.items():
        (select,) = client.query(
            f"SELECT as_select FROM system.tables WHERE database = '{spec.database}' AND name = '{view}'"
        )[0]
        produced = [row[0] for row in client.query(f"DESCRIBE ({select})")]
        stored = [row[0] for row in client.query(f"DESCRIBE TABLE {spec.database}.{target}")]
        assert sorted(produced) == sorted(stored), view


def test_reader_sql() -> None:
    spec = SchemaSpec(database="market", reader_user="grafana_reader")
    reader = next(o for o in schema_objects(spec) if o.kind == "access")
    profile, user, quota, grant, system_grant, show_tables = reader.create
    assert "readonly = 1" in profile
    assert user.startswith(
        "CREATE USER OR REPLACE grafana_reader IDENTIFIED WITH sha256_password BY ${reader_password}"
    )
    assert "SETTINGS PROFILE 'grafana_reader_profile'" in user
    assert quota.startswith("CREATE QUOTA OR REPLACE grafana_reader_quota FOR INTERVAL 1 minute MAX queries = ")
    assert quota.endswith(" TO grafana_reader")  # after the user: a replaced user is a new one to assign
    assert grant == "GRANT SELECT ON market.* TO grafana_reader"
    assert system_grant == "GRANT SELECT ON system.kafka_consumers TO grafana_reader"
    # system.kafka_consumers shows rows only to a holder of SHOW TABLES on *.* (docs/upstream.md): without it the
    # consumer panels are empty and "consumer exceptions" a green 0
    assert show_tables == "GRANT SHOW TABLES ON *.* TO grafana_reader"
    assert reader.drop[0] == "DROP QUOTA IF EXISTS grafana_reader_quota"
    client = ChdbClient()
    for sql in reader.create:  # chdb refuses access control, but it still parses the statements
        client.format_query(sql)


def profile_settings(profile: str) -> dict[str, str]:
    """Each setting of a rendered CREATE SETTINGS PROFILE, as ClickHouse's own formatter prints it."""
    formatted = ChdbClient().format_query(profile)
    body = formatted.rsplit(" SETTINGS ", 1)[1]
    return {part.split(" = ")[0]: part.split(" = ", 1)[1] for part in body.split(", ")}


def test_the_reader_profile_bounds_every_query_and_only_the_timeout_changes_within_min_max() -> None:
    """A Grafana viewer's query cannot set max_execution_time to 0 (unlimited) or above the bound, and memory,
    rows, bytes, results and threads are bounded and constant (chdb keeps no users: the behaviour is checked by
    `make verify` live, and by the reader stand-in in tests/verify/test_clickhouse_hop.py)."""
    profile = next(o for o in schema_objects(SchemaSpec()) if o.kind == "access").create[0]
    settings = profile_settings(profile)
    assert settings.pop("readonly") == "1"
    timeout = READER_QUERY_TIMEOUT_S
    assert settings.pop("max_execution_time") == f"{timeout} MIN 1 MAX {timeout} CHANGEABLE_IN_READONLY"
    for name in ("max_memory_usage", "max_rows_to_read", "max_bytes_to_read", "max_result_rows",
                 "max_result_bytes", "max_threads", "max_concurrent_queries_for_user"):  # fmt: skip
        value, constraint = settings.pop(name).split(" ")
        assert constraint == "CONST" and int(value) > 0, name
    assert settings == {"timeout_overflow_mode": "'throw' CONST"}


def test_the_reader_limits_stop_a_runaway_table_function_and_leave_every_panel_running(client: ChdbClient) -> None:
    """The profile's values as query settings on ClickHouse itself: numbers_mt (no grant needed) is stopped by
    the row limit before it starts, while every dashboard and alert query runs within the limits."""
    limits = ", ".join(f"{limit.setting} = {limit.value!r}" for limit in READER_LIMITS)
    rows = next(limit.value for limit in READER_LIMITS if limit.setting == "max_rows_to_read")
    with pytest.raises(RuntimeError, match="TOO_MANY_ROWS"):
        client.query(f"SELECT count() FROM numbers_mt({int(rows) * 10}) SETTINGS {limits}")
    assert client.query(f"SELECT count() FROM numbers_mt({int(rows) // 10}) SETTINGS {limits}") == [(int(rows) // 10,)]


def test_make_sql_runs_from_a_plain_checkout() -> None:
    result = subprocess.run([sys.executable, "-m", "ddl.render"], cwd=REPO_ROOT, capture_output=True, check=True)
    assert b"ENGINE = Kafka" in result.stdout
