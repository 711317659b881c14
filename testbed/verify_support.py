"""Stand-ins and small helpers the tests of `make verify` share (tests/verify/)."""

from __future__ import annotations

import io
import json
import re
import time
import uuid

import pytest

from ddl.spec import SchemaSpec
from infra.kafka_topic import TopicProvider
from testbed.broker import TansuBroker, free_port
from testbed.clickhouse import ChdbClient, ReaderStandIn
from verify import __main__ as verify_main
from verify.__main__ import REQUIRED_OUTPUTS
from verify.kafka_hop import Canary, canary_report, stored_ms


def make_topic(broker: TansuBroker, partitions: int = 3) -> str:
    name = f"verify-{uuid.uuid4().hex[:8]}"
    props = {"name": name, "partitions": partitions, "replicationFactor": 1, "bootstrapServers": broker.bootstrap}
    TopicProvider().create(props)
    return name


def deliver(spec: SchemaSpec, messages: list[bytes], positions: list[tuple[int, int]], error: str = "",
            stamped: float | None = None) -> None:  # fmt: skip
    """Rows as the Kafka engine presents them, stamped now (or at unix time `stamped`), at the given positions."""
    at = time.time() if stamped is None else stamped
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(at)) + f".{round(at * 1000) % 1000:03d}"
    rows = []
    for message, (partition, offset) in zip(messages, positions, strict=True):
        virtual = {"_topic": spec.topic, "_partition": partition, "_offset": offset, "_error": error,
                   "_raw_message": message.decode() if error else "", "_timestamp_ms": stamp}  # fmt: skip
        payload = json.loads(message) if not error else {}
        rows.append(json.dumps({**payload, **virtual}).encode())
    ChdbClient().insert_json_lines(f"{spec.database}.{spec.queue}", rows)


def generator_report(spec: SchemaSpec) -> bytes:
    """A report as the generator makes it: an untagged timestamp."""
    report = json.loads(canary_report(spec.shape))
    report["timestamp"] = int(time.time()) + 0.25
    return json.dumps(report).encode()


def canaries_at(spec: SchemaSpec, positions: list[tuple[int, int]]) -> tuple[list[bytes], list[Canary]]:
    reports = [canary_report(spec.shape) for _ in positions]
    return reports, [Canary(p, o, time.time(), stored_ms(r)) for r, (p, o) in zip(reports, positions, strict=True)]


class Answering:
    """A client with one canned answer, for checks whose SQL is run on chdb elsewhere."""

    def __init__(self, *rows: tuple) -> None:
        self.rows, self.sent = list(rows), []

    def query(self, sql: str) -> list[tuple]:
        self.sent.append(sql)
        return self.rows


def time_bounds(sql: str) -> dict[str, int] | None:
    found = re.findall(r"fromUnixTimestamp64Milli\((\d+)\)", sql)
    return {"from": int(min(found)), "to": int(max(found))} if len(set(found)) == 2 else None


def run_verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`python -m verify ARGS` in this process: its exit code, stdout and stderr."""
    code = verify_main.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def down_outputs() -> dict[str, object]:
    """The outputs of a stack whose services are all gone: every address is a closed port."""
    closed = free_port()
    return {key: "x" for key in REQUIRED_OUTPUTS} | {
        "kafkaBootstrapServers": f"127.0.0.1:{closed}", "kafkaTopic": "metrics_raw", "kafkaTopicPartitions": 3,
        "kafkaReplicationFactor": 1, "clickhouseUrl": f"http://127.0.0.1:{closed}",
        "grafanaUrl": f"http://127.0.0.1:{closed}", "midPriceThreshold": 9.9,
        "schemaSpec": {"database": "market", "shape": {}},
    }  # fmt: skip


STAND_IN_PULUMI = """#!/bin/sh
echo "$*" >> "$PULUMI_CALLS"
case "$1 $2" in
  "stack output")
    [ -n "$OUTPUTS" ] && cat "$OUTPUTS" && exit 0
    echo "error: no stack named 'gone' found" >&2; exit 255 ;;
  "stack history") echo '[{"startTime": "2026-11-28T12:00:00.250Z", "result": "succeeded"}]' ;;
esac
"""


def as_logged_in(_url: str, user: str, _password: str) -> ChdbClient:
    """chdb standing in for the server: as the reader, with its profile's constraints and limits."""
    return ReaderStandIn() if user == "grafana_reader" else ChdbClient()


class RecordingDriver:
    """clickhouse-connect's `get_client` at its boundary (e2e runs the real one against a real server)."""

    def __init__(self, error: Exception | None = None) -> None:
        self.connections: list[dict] = []
        self.sent: list[str] = []
        self.error = error

    def get_client(self, **kwargs) -> RecordingDriver:
        self.connections.append(kwargs)
        if self.error:
            raise self.error
        return self

    def query(self, sql: str):
        self.sent.append(sql)
        return type("Result", (), {"result_rows": [[1, "a"]]})()


class Refusing(ReaderStandIn):
    """The reader without its grant on the rollup: ClickHouse refuses what reads it (the panels at a minute)."""

    def query_with_columns(self, sql: str) -> tuple[list[str], list[tuple]]:
        if ".metrics_1m" in sql:
            raise RuntimeError("Code: 497. DB::Exception: grafana_reader: Not enough privileges.\n(stack trace)")
        return super().query_with_columns(sql)


class Pipe(io.StringIO):
    """stdout as a pipe: what is written shows only when flushed."""

    def __init__(self) -> None:
        super().__init__()
        self.shown = ""

    def flush(self) -> None:
        self.shown = self.getvalue()
