"""`make verify`'s hops against real engines: Kafka on tansu, the ClickHouse checks as SQL on chdb; and the
command's exit codes and one-line failures when a stack is missing or its services are down."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from kafka import KafkaConsumer, TopicPartition

from core.contract import ReportShape
from dashboards.alerts import pipeline_rules
from dashboards.panels import queried_panels
from ddl.spec import SchemaSpec
from infra.kafka_topic import TopicProvider
from testbed.broker import TansuBroker, abandon, free_port
from testbed.clickhouse import ChdbClient, ReaderStandIn, apply_schema
from testbed.tcp_proxy import TcpProxy
from testbed.verify_output import look_further
from verify import __main__ as verify_main
from verify import checks as checks_module
from verify import clickhouse_hop, kafka_hop
from verify.__main__ import REQUIRED_OUTPUTS, parse_time, schema_spec
from verify.checks import Checks, Failed
from verify.clickhouse_hop import ClickHouseHop, percentile
from verify.kafka_hop import CANARY_KEY, Canary, KafkaHop, canary_report, price_above, stored_ms


def make_topic(broker: TansuBroker, partitions: int = 3) -> str:
    name = f"verify-{uuid.uuid4().hex[:8]}"
    props = {"name": name, "partitions": partitions, "replicationFactor": 1, "bootstrapServers": broker.bootstrap}
    TopicProvider().create(props)
    return name


def test_topic_check_passes_as_configured_and_names_what_differs(broker: TansuBroker) -> None:
    topic, hop = make_topic(broker), KafkaHop(broker.bootstrap)
    assert hop.check_topic(topic, 3, 1) == f"topic {topic}: 3 partitions, replication 1"
    with pytest.raises(Failed, match="expected 6 partitions with replication 1, saw 3 partitions with replication 1"):
        hop.check_topic(topic, 6, 1)
    with pytest.raises(Failed, match="saw no such topic"):
        hop.check_topic("no-such-topic", 3, 1)


def test_canaries_are_acknowledged_where_the_broker_put_them(broker: TansuBroker) -> None:
    topic, shape = make_topic(broker, partitions=1), ReportShape(bid_size=3, ask_size=2)
    canaries = KafkaHop(broker.bootstrap).produce(topic, [canary_report(shape) for _ in range(3)])
    assert [(c.partition, c.offset) for c in canaries] == [(0, 0), (0, 1), (0, 2)]
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None, enable_auto_commit=False)
    consumer.assign([TopicPartition(topic, 0)])
    consumer.seek_to_beginning()
    records = [r for batch in consumer.poll(timeout_ms=5000, max_records=10).values() for r in batch]
    consumer.close()
    assert [(r.key, r.offset) for r in records] == [(CANARY_KEY, 0), (CANARY_KEY, 1), (CANARY_KEY, 2)]
    report = json.loads(records[0].value)
    assert set(report) == {"timestamp", "bid_1", "bid_2", "bid_3", "ask_1", "ask_2", "stats"}


def test_an_alert_canary_puts_level_1_just_above_the_threshold() -> None:
    assert price_above(9.9, 1) == 10.0 and price_above(9.95, 2) == 9.96 and price_above(9.9, 0) == 10
    assert stored_ms(canary_report(ReportShape())) % 1000 == 999  # the tag that tells canaries apart
    report = json.loads(canary_report(ReportShape(), level_1=(10.0, 10.0)))
    assert (report["bid_1"] + report["ask_1"]) / 2 > 9.9


@pytest.fixture
def chdb_spec() -> SchemaSpec:
    spec = SchemaSpec(database=f"v_{uuid.uuid4().hex[:12]}", shape=ReportShape(bid_size=2, ask_size=2))
    apply_schema(ChdbClient(), spec)
    return spec


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


def test_landed_canaries_are_found_with_their_latency(chdb_spec: SchemaSpec) -> None:
    hop = ClickHouseHop(ChdbClient(), chdb_spec)
    reports, canaries = canaries_at(chdb_spec, [(1, 40), (1, 41), (1, 42)])
    deliver(chdb_spec, reports, [(1, 40), (1, 41), (1, 42)])
    latencies = hop.canaries_landed(canaries)
    assert len(latencies) == 3 and all(0 <= ms < 5000 for ms in latencies)
    assert hop.no_dead_letters(canaries).startswith("no canary in ")
    expected = len(queried_panels(chdb_spec, 9.9, "verify")) + len(pipeline_rules(chdb_spec, 9.9, 5, "verify"))
    assert hop.every_grafana_query_runs(9.9).startswith(f"{expected} dashboard and alert queries ran")


def test_a_missing_canary_fails_within_its_bound(chdb_spec: SchemaSpec, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clickhouse_hop, "CONSUMER_SLACK_S", 0.5)
    quick = replace(chdb_spec, flush_interval_ms=100)  # the bound: three flushes and the slack
    started = time.monotonic()
    _, canaries = canaries_at(chdb_spec, [(2, 7)])
    with pytest.raises(Failed, match=r"the canary at partition 2, offset 7 .* within 0\.8 s, saw no such row"):
        ClickHouseHop(ChdbClient(), quick).canaries_landed(canaries)
    assert 0.8 <= time.monotonic() - started < 5


def test_an_older_row_at_the_canarys_position_is_not_the_canary(
    chdb_spec: SchemaSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a topic rename or a new cluster, offsets start again: position alone proves nothing."""
    monkeypatch.setattr(clickhouse_hop, "CONSUMER_SLACK_S", 0.2)
    deliver(chdb_spec, [generator_report(chdb_spec)], [(0, 5)])
    _, canaries = canaries_at(chdb_spec, [(0, 5)])
    with pytest.raises(Failed, match="saw no such row"):
        ClickHouseHop(ChdbClient(), replace(chdb_spec, flush_interval_ms=100)).canaries_landed(canaries)


def test_rows_arriving_counts_generator_rows_not_canaries(chdb_spec: SchemaSpec) -> None:
    hop = ClickHouseHop(ChdbClient(), chdb_spec)
    reports, _ = canaries_at(chdb_spec, [(0, 1), (0, 2)])  # canaries of this run and of an earlier one
    deliver(chdb_spec, reports, [(0, 1), (0, 2)])
    with pytest.raises(Failed, match="saw none besides canaries"):
        hop.rows_arriving(0.1)
    deliver(chdb_spec, [generator_report(chdb_spec) for _ in range(4)], [(0, n) for n in range(3, 7)])
    assert hop.rows_arriving(0.1) == "4 generator rows in the last 60 s"
    assert hop.rows_arriving(120) == "4 generator rows in the last 360 s"  # a slow generator gets a wider window


def test_a_dead_lettered_canary_fails_and_an_old_dead_letter_does_not(chdb_spec: SchemaSpec) -> None:
    deliver(chdb_spec, [b"{not json"], [(0, 9)], error="Cannot parse input")
    hop = ClickHouseHop(ChdbClient(), chdb_spec)
    with pytest.raises(Failed, match=r"expected no canary in v_\w+\.metrics_dead_letter, saw 1"):
        hop.no_dead_letters([Canary(0, 9, time.time(), 0)])
    long_after = time.time() + 3600  # the dead letter is an hour older than these canaries
    assert hop.no_dead_letters([Canary(0, 9, long_after, 0)]).startswith("no canary in ")


def test_no_kafka_consumer_is_a_failure(chdb_spec: SchemaSpec) -> None:
    with pytest.raises(Failed, match=r"expected 1 consumer.* saw 0 consumer"):
        ClickHouseHop(ChdbClient(), chdb_spec).consumers_healthy()  # chdb runs no Kafka engine


def test_a_query_the_server_refuses_is_named() -> None:
    spec = SchemaSpec(database=f"missing_{uuid.uuid4().hex[:8]}")  # never created
    with pytest.raises(Failed, match=r"expected 'Mid price .*' to run, saw .*"):
        ClickHouseHop(ChdbClient(), spec).every_grafana_query_runs(9.9)


def test_the_reader_cannot_lift_its_limits_and_every_grafana_query_runs_within_them(chdb_spec: SchemaSpec) -> None:
    """On the reader's stand-in (chdb checking each query's SETTINGS against the profile as ClickHouse does, then
    applying the profile): every lifting attempt is refused, numbers_mt stops at the row limit, and the dashboard
    and alert queries still run."""
    deliver(chdb_spec, [generator_report(chdb_spec)], [(0, 1)])
    hop = ClickHouseHop(ReaderStandIn(), chdb_spec)
    assert hop.limits_hold() == "11 attempts to lift a limit refused; numbers_mt stopped at 100,000,000 rows"
    assert hop.every_grafana_query_runs(9.9).endswith("panels on the raw table and on the rollup")


def test_a_reader_whose_limits_can_be_lifted_fails_naming_the_query_that_ran(chdb_spec: SchemaSpec) -> None:
    with pytest.raises(Failed) as failed:
        ClickHouseHop(ChdbClient(), chdb_spec).limits_hold()  # no profile: chdb lets a query change anything
    assert str(failed.value) == (
        "expected `SELECT 1 SETTINGS readonly = 0` refused by a limit of the reader's profile, saw it ran"
    )

    class Unreachable:
        def query(self, sql: str) -> list[tuple]:
            raise OSError("[Errno 111] Connection refused")

    with pytest.raises(Failed) as failed:  # an error that is not a refusal by a limit proves nothing
        ClickHouseHop(Unreachable(), chdb_spec).limits_hold()  # type: ignore[arg-type]
    assert str(failed.value).endswith("saw [Errno 111] Connection refused")


def test_first_row_after_the_last_up(chdb_spec: SchemaSpec) -> None:
    hop = ClickHouseHop(ChdbClient(), chdb_spec)
    started = 1_800_000_000.0
    assert hop.first_row_after(started) is None
    deliver(chdb_spec, [generator_report(chdb_spec)], [(0, 0)], stamped=started - 30)  # from before that `up`
    assert hop.first_row_after(started) is None
    deliver(chdb_spec, [generator_report(chdb_spec)], [(0, 1)], stamped=started + 2.5)
    deliver(chdb_spec, [generator_report(chdb_spec)], [(0, 2)], stamped=started + 4)
    assert hop.first_row_after(started) == 2.5
    deliver(chdb_spec, [generator_report(chdb_spec)], [(0, 3)], stamped=started)
    assert hop.first_row_after(started) == 0.0


class Answering:
    """A client with one canned answer, for checks whose SQL is run on chdb elsewhere."""

    def __init__(self, *rows: tuple) -> None:
        self.rows, self.sent = list(rows), []

    def query(self, sql: str) -> list[tuple]:
        self.sent.append(sql)
        return self.rows


@pytest.mark.parametrize(
    ("answer", "passes"), [((1, 0), True), ((2, 0), True), ((0, 0), False), ((1, 1), False)]
)  # (consumers, consumers with a recent exception)
def test_consumers_healthy_needs_every_consumer_and_no_recent_exception(answer: tuple, passes: bool) -> None:
    hop = ClickHouseHop(Answering(answer), SchemaSpec(consumers=1))  # type: ignore[arg-type]
    if passes:
        assert hop.consumers_healthy()
    else:
        with pytest.raises(Failed, match=r"expected 1 consumer\(s\) of metrics_queue without recent exceptions"):
            hop.consumers_healthy()


def test_a_reader_that_sees_no_consumer_rows_fails_and_says_why() -> None:
    """Without SHOW TABLES on *.*, ClickHouse gives the reader no rows of system.kafka_consumers: the consumer
    panels would show nothing and "consumer exceptions" a green 0. verify reads them as the reader."""
    hop = ClickHouseHop(Answering((0, 0)), SchemaSpec(consumers=1))  # type: ignore[arg-type]
    with pytest.raises(Failed) as failure:
        hop.consumers_healthy()
    assert str(failure.value) == (
        "expected 1 consumer(s) of metrics_queue without recent exceptions, saw 0 consumer(s), 0 with exceptions in "
        "the last 300 s (none visible: does the reader hold SHOW TABLES ON *.*? the panels would be empty)"
    )


def test_no_generator_rows_is_said_with_its_window() -> None:
    with pytest.raises(Failed) as failure:
        ClickHouseHop(Answering((0,)), SchemaSpec()).rows_arriving(30)  # type: ignore[arg-type]
    assert str(failure.value) == "expected rows from the generator in the last 90 s, saw none besides canaries"


def test_every_query_runs_over_the_last_window_at_both_grains(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clickhouse_hop.time, "time", lambda: 1_800_000_000.0)
    client, spec = Answering(), SchemaSpec()
    ClickHouseHop(client, spec).every_grafana_query_runs(9.9)  # type: ignore[arg-type]
    panels, rules = queried_panels(spec, 9.9, "verify"), pipeline_rules(spec, 9.9, 5, "verify")
    assert len(client.sent) == 2 * len(panels) + len(rules)  # panels at both grains, rules at the short one
    now_ms = 1_800_000_000_000
    windows = {(m["from"], m["to"]) for m in map(time_bounds, client.sent) if m}
    assert windows == {(now_ms - clickhouse_hop.QUERY_WINDOW_MS, now_ms)}


def time_bounds(sql: str) -> dict[str, int] | None:
    found = re.findall(r"fromUnixTimestamp64Milli\((\d+)\)", sql)
    return {"from": int(min(found)), "to": int(max(found))} if len(set(found)) == 2 else None


def test_a_refused_query_is_named_with_the_servers_first_line() -> None:
    class Refusing:
        def query(self, sql: str) -> list[tuple]:
            raise RuntimeError("  Code: 497. DB::Exception: grafana_reader: Not enough privileges.\nStack trace: …")

    with pytest.raises(Failed) as failure:
        ClickHouseHop(Refusing(), SchemaSpec()).every_grafana_query_runs(9.9)  # type: ignore[arg-type]
    assert str(failure.value).endswith("to run, saw Code: 497. DB::Exception: grafana_reader: Not enough privileges.")


def test_figures_helpers() -> None:
    assert percentile([5.0], 0.95) == 5.0
    assert percentile([float(n) for n in range(1, 101)], 0.5) == pytest.approx(50.5)
    assert parse_time(1_800_000_000) == 1_800_000_000.0
    assert parse_time("2026-11-28T12:00:00Z") == parse_time("2026-11-28T12:00:00+00:00")
    # `pulumi stack history --json` writes RFC 5424 times (pkg/cmd/pulumi/cmd/time.go)
    assert parse_time("2026-11-28T12:00:00.250Z") == parse_time("2026-11-28T12:00:00Z") + 0.25
    spec = schema_spec({"database": "market", "consumers": 2.0, "shape": {"bid_size": 3}})
    assert spec.consumers == 2 and isinstance(spec.consumers, int) and spec.shape.bid_size == 3
    assert percentile([10.0, 20.0], 0.5) == 15.0 and percentile([10.0, 20.0], 0.95) == pytest.approx(19.5)
    assert percentile([float(n) for n in range(1, 101)], 0.95) == pytest.approx(95.05)
    assert verify_main._last_line("first\n\nlast one\n  \n") == "last one"
    assert verify_main._last_line(" \n") == "no output"


def run_verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`python -m verify ARGS` in this process: its exit code, stdout and stderr."""
    code = verify_main.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def quick_to_give_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing answers on a closed port: no need to look for a broker for the full five seconds."""
    monkeypatch.setattr(kafka_hop, "BOOTSTRAP_TIMEOUT_MS", 300)


def down_outputs() -> dict[str, object]:
    """The outputs of a stack whose services are all gone: every address is a closed port."""
    closed = free_port()
    return {key: "x" for key in REQUIRED_OUTPUTS} | {
        "kafkaBootstrapServers": f"127.0.0.1:{closed}", "kafkaTopic": "metrics_raw", "kafkaTopicPartitions": 3,
        "kafkaReplicationFactor": 1, "clickhouseUrl": f"http://127.0.0.1:{closed}",
        "grafanaUrl": f"http://127.0.0.1:{closed}", "midPriceThreshold": 9.9,
        "schemaSpec": {"database": "market", "shape": {}},
    }  # fmt: skip


def test_bad_usage_and_missing_outputs_exit_2_with_one_line(tmp_path: Path, capsys) -> None:
    code, _, err = run_verify(capsys, "--stack", "dev", "--outputs", str(tmp_path / "none.json"))
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("verify: --outputs ")
    (tmp_path / "partial.json").write_text(json.dumps({"grafanaUrl": "http://127.0.0.1:1"}))
    code, _, err = run_verify(capsys, "--stack", "dev", "--outputs", str(tmp_path / "partial.json"))
    assert code == 2
    assert err.startswith(
        "verify: stack 'dev' lacks outputs ['grafanaAdminUser', 'grafanaAdminPassword', 'kafkaBootstrap"
    )
    assert "make up STACK=dev" in err
    with pytest.raises(SystemExit) as usage:
        verify_main.main([])  # --stack is required
    assert usage.value.code == 2


def test_a_stack_whose_services_are_all_down_fails_one_line_per_hop(tmp_path: Path, capsys, quick_to_give_up) -> None:
    (tmp_path / "outputs.json").write_text(json.dumps(down_outputs()))
    code, out, err = run_verify(capsys, "--stack", "down", "--outputs", str(tmp_path / "outputs.json"),
                                "--deployed-at", "0")  # fmt: skip
    assert code == 1
    assert "Traceback" not in out + err
    lines = out.splitlines()
    failed = [line.split(" (")[0] for line in lines if line.startswith("verify: FAIL")]
    assert failed == [
        "verify: FAIL kafka: topic as configured",
        "verify: FAIL kafka: canaries produced",
        "verify: FAIL clickhouse: answers",
        "verify: FAIL grafana: healthy",
    ]
    kafka = [line.split("): ", 1)[1] for line in lines if line.startswith("verify: FAIL kafka")]
    assert all(
        re.match(r"expected a broker answering at 127\.0\.0\.1:\d+ within [\d.]+ s, saw \w+", k) for k in kafka
    ), kafka
    services = [line.rsplit("; look further: make logs STACK=down SERVICE=", 1)[1] for line in lines if "FAIL" in line]
    assert services == ["kafka-1", "kafka-1", "clickhouse", "grafana"]  # where each failure's cause is logged
    assert lines[-1] == "verify: stack=down first_row_s=n/a produce_to_queryable_ms_p50=n/a p95=n/a alert_s=n/a"


STAND_IN_PULUMI = """#!/bin/sh
echo "$*" >> "$PULUMI_CALLS"
case "$1 $2" in
  "stack output")
    [ -n "$OUTPUTS" ] && cat "$OUTPUTS" && exit 0
    echo "error: no stack named 'gone' found" >&2; exit 255 ;;
  "stack history") echo '[{"startTime": "2026-11-28T12:00:00.250Z", "result": "succeeded"}]' ;;
esac
"""


@pytest.fixture
def pulumi_stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `pulumi` on PATH that records its arguments and answers like the CLI."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pulumi").write_text(STAND_IN_PULUMI)
    (bin_dir / "pulumi").chmod(0o755)
    calls = tmp_path / "calls"
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("PULUMI_CALLS", str(calls))
    return calls


def test_outputs_and_the_last_up_come_from_pulumi(
    pulumi_stand_in: Path, tmp_path: Path, monkeypatch, capsys, quick_to_give_up
) -> None:
    (tmp_path / "outputs.json").write_text(json.dumps(down_outputs()))
    monkeypatch.setenv("OUTPUTS", str(tmp_path / "outputs.json"))
    code, out, _ = run_verify(capsys, "--stack", "down")
    assert code == 1 and out.splitlines()[-1].startswith("verify: stack=down ")
    assert pulumi_stand_in.read_text().splitlines() == [
        "stack output --json --show-secrets --stack down",
        "stack history --json --page-size 1 --stack down",
    ]
    assert verify_main.last_update_started("down") == parse_time("2026-11-28T12:00:00.250Z")


def test_a_stack_pulumi_does_not_know_is_one_line_and_exit_2(pulumi_stand_in: Path, capsys) -> None:
    code, out, err = run_verify(capsys, "--stack", "gone")
    assert (code, out) == (2, "")
    assert err == "verify: no outputs for stack 'gone': error: no stack named 'gone' found\n"


def test_no_pulumi_cli_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert run_verify(capsys, "--stack", "dev")[1:] == ("", "verify: the Pulumi CLI is not on PATH\n")


def test_no_history_means_no_deploy_time(pulumi_stand_in: Path, tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "bin" / "pulumi").write_text("#!/bin/sh\necho '[]'\n")
    assert verify_main.last_update_started("dev") is None


def as_logged_in(_url: str, user: str, _password: str) -> ChdbClient:
    """chdb standing in for the server: as the reader, with its profile's constraints and limits."""
    return ReaderStandIn() if user == "grafana_reader" else ChdbClient()


def test_the_clickhouse_hop_runs_end_to_end_on_chdb(chdb_spec: SchemaSpec, monkeypatch: pytest.MonkeyPatch) -> None:
    """verify's own sequence of ClickHouse checks, with chdb standing in for the server (admin and reader)."""
    monkeypatch.setattr(verify_main, "HttpClickHouse", as_logged_in)
    reports, canaries = canaries_at(chdb_spec, [(0, 100), (0, 101)])
    deliver(chdb_spec, [*reports, generator_report(chdb_spec)], [(0, 100), (0, 101), (0, 102)])
    outputs = {"clickhouseUrl": "http://127.0.0.1:8123", "clickhouseAdminUser": "admin",
               "clickhouseAdminPassword": "x", "clickhouseReaderUser": "grafana_reader",
               "clickhouseReaderPassword": "y", "midPriceThreshold": 9.9, "reportIntervalSeconds": 0.1}  # fmt: skip
    out = io.StringIO()
    figures = verify_main.Figures()
    verify_main._clickhouse(outputs, chdb_spec, "dev", time.time() - 60, canaries, Checks(out=out), figures)
    lines = {line.split(" (")[0]: line for line in out.getvalue().splitlines()}
    for name in ("answers", "canaries landed", "no canary dead-lettered", "rows keep arriving",
                 "grafana_reader runs every Grafana query", "grafana_reader cannot lift its limits"):  # fmt: skip
        assert lines[f"verify: ok   clickhouse: {name}"], out.getvalue()
    failed = lines["verify: FAIL clickhouse: Kafka consumers healthy"]  # chdb runs no Kafka engine
    assert "expected 1 consumer(s) of metrics_queue" in failed
    assert figures.latencies_ms and len(figures.latencies_ms) == 2 and figures.first_row_s is not None


def test_without_canaries_the_landing_checks_fail_as_not_run(chdb_spec: SchemaSpec, monkeypatch) -> None:
    logins: list[tuple[str, str, str]] = []
    monkeypatch.setattr(verify_main, "HttpClickHouse", lambda *login: logins.append(login) or as_logged_in(*login))
    outputs = {"clickhouseUrl": "http://127.0.0.1:8123", "clickhouseAdminUser": "admin",
               "clickhouseAdminPassword": "x", "clickhouseReaderUser": "grafana_reader",
               "clickhouseReaderPassword": "y", "midPriceThreshold": 9.9, "reportIntervalSeconds": 30}  # fmt: skip
    out = io.StringIO()
    checks = Checks(out=out)
    verify_main._clickhouse(outputs, chdb_spec, "dev", None, [], checks, verify_main.Figures())
    assert logins == [("http://127.0.0.1:8123", "grafana_reader", "y")]  # checks that only read: as the reader
    lines = out.getvalue().splitlines()
    assert "verify: FAIL clickhouse: canaries landed (not run: no canary was produced)" in lines
    assert not any("no canary dead-lettered" in line for line in lines)
    hints = look_further(lines)
    assert hints == {"verify: FAIL clickhouse: rows keep arriving": "generator",
                     "verify: FAIL clickhouse: Kafka consumers healthy": "clickhouse"}  # fmt: skip
    assert "rows from the generator in the last 90 s" in out.getvalue()  # three report intervals of 30 s
    assert not checks.passed and checks.failures >= 1
    failures = checks.failures
    checks.skip("clickhouse", "another", "a reason")
    assert checks.failures == failures + 1


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


def test_verify_logs_in_where_the_outputs_say(monkeypatch: pytest.MonkeyPatch) -> None:
    driver = RecordingDriver()
    monkeypatch.setitem(sys.modules, "clickhouse_connect", driver)
    client = clickhouse_hop.HttpClickHouse("http://127.0.0.1:18123", "grafana_reader", "pw")
    assert driver.connections == [{"host": "127.0.0.1", "port": 18123, "username": "grafana_reader",
                                   "password": "pw", "connect_timeout": 3,
                                   "send_receive_timeout": 60}]  # the one client (core.clickhouse)  # fmt: skip
    assert client.query("SELECT 1") == [(1, "a")] and driver.sent == ["SELECT 1"]


def test_a_clickhouse_that_does_not_answer_is_one_line_with_the_os_error(monkeypatch: pytest.MonkeyPatch) -> None:
    refused = RuntimeError("HTTPDriver for http://h:1 received ... [Errno 111] Connection refused')) and more")
    monkeypatch.setitem(sys.modules, "clickhouse_connect", RecordingDriver(refused))
    with pytest.raises(Failed) as failure:
        clickhouse_hop.HttpClickHouse("http://h:1", "admin", "pw")
    assert str(failure.value) == "expected an answer from ClickHouse at http://h:1, saw [Errno 111] Connection refused"
    monkeypatch.setitem(sys.modules, "clickhouse_connect", RecordingDriver(RuntimeError("x" * 300)))
    with pytest.raises(Failed) as failure:
        clickhouse_hop.HttpClickHouse("http://h:1", "admin", "pw")
    assert str(failure.value) == "expected an answer from ClickHouse at http://h:1, saw " + "x" * 200


def test_figures_are_one_line_with_what_was_measured() -> None:
    figures = verify_main.Figures(first_row_s=1.25, latencies_ms=[10.0, 20.0, 30.0], alert_s=61.4)
    # p95 of 10, 20 and 30 ms is 29 by the inclusive method
    assert figures.line("s") == "verify: stack=s first_row_s=1.2 produce_to_queryable_ms_p50=20 p95=29 alert_s=61"


def test_main_passes_its_arguments_on_and_exits_0_when_every_check_passed(tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / "outputs.json").write_text(json.dumps(down_outputs()))
    seen = {}

    def verified(outputs, stack, deployed_at, alert, checks):
        seen.update(stack=stack, deployed_at=deployed_at, alert=alert, topic=outputs["kafkaTopic"])
        return verify_main.Figures(first_row_s=2.0)

    monkeypatch.setattr(verify_main, "verify", verified)
    code, out, _ = run_verify(capsys, "--stack", "s", "--outputs", str(tmp_path / "outputs.json"),
                              "--deployed-at", "12.5", "--alert")  # fmt: skip
    assert code == 0 and seen == {"stack": "s", "deployed_at": 12.5, "alert": True, "topic": "metrics_raw"}
    assert out == "verify: stack=s first_row_s=2.0 produce_to_queryable_ms_p50=n/a p95=n/a alert_s=n/a\n"
    assert logging.getLogger("kafka").level == logging.getLogger("clickhouse_connect").level == logging.CRITICAL
    run_verify(capsys, "--stack", "s", "--outputs", str(tmp_path / "outputs.json"))
    assert seen["deployed_at"] is None and seen["alert"] is False  # outputs from a file: no history to ask


def test_usage_explains_every_option(capsys) -> None:
    with pytest.raises(SystemExit):
        verify_main.parse_args(["--help"])
    usage = " ".join(capsys.readouterr().out.split())
    assert usage.startswith("usage: python -m verify [-h] --stack STACK [--outputs FILE] [--deployed-at")
    assert "`python -m verify --stack NAME [--alert]` (what `make verify` runs): prove every hop" in usage
    for text in ("--stack STACK the stack to check",
                 "--outputs FILE a file holding the stack's outputs as JSON (pulumi stack output --json "
                 "--show-secrets > FILE), instead of asking Pulumi",
                 "--deployed-at DEPLOYED_AT unix time of the last `up` (default: from Pulumi)",
                 "--alert also drive the mid-price alert to pending/firing"):  # fmt: skip
        assert text in usage, text
    with pytest.raises(SystemExit):
        verify_main.parse_args(["--stack", "s", "--deployed-at", "soon"])  # a number


def test_a_canary_sits_in_the_middle_of_each_levels_range() -> None:
    report = json.loads(canary_report(ReportShape(bid_size=2, ask_size=1, random_start=1, random_decimal=1)))
    del report["timestamp"]
    assert report == {"bid_1": 5.5, "bid_2": 10.5, "ask_1": 5.5, "stats": [8.0, 5.5]}
    whole = json.loads(canary_report(ReportShape(bid_size=1, ask_size=1, random_start=1, random_decimal=0)))
    assert whole["bid_1"] == 6.0 and isinstance(whole["bid_1"], float)  # a Decimal(…, 0) column takes 6.0
    alerting = json.loads(canary_report(ReportShape(bid_size=2, ask_size=2), level_1=(9.8, 10.2)))
    assert (alerting["bid_1"], alerting["ask_1"], alerting["bid_2"]) == (9.8, 10.2, 10.5)


def test_verify_wires_each_hop_with_what_the_outputs_say(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: dict[str, tuple] = {}

    class Kafka:
        def __init__(self, servers: str) -> None:
            calls["kafka"] = (servers,)

        def check_topic(self, *args: object) -> str:
            calls["check_topic"] = args
            return "ok"

        def produce(self, topic: str, reports: list[bytes], spacing_s: float) -> list[Canary]:
            calls["produce"] = (topic, reports, spacing_s)
            return [Canary(0, n, 1.0, 2) for n in range(len(reports))]

    monkeypatch.setattr(verify_main, "KafkaHop", Kafka)
    monkeypatch.setattr(verify_main, "_clickhouse", lambda *args: calls.__setitem__("clickhouse", args))
    monkeypatch.setattr(verify_main, "_grafana", lambda *args: calls.__setitem__("grafana", args))
    shape = {"bid_size": 2, "ask_size": 3}
    outputs = {**down_outputs(), "kafkaBootstrapServers": "k:1", "kafkaTopicPartitions": 4.0,
               "kafkaReplicationFactor": 3, "schemaSpec": {"database": "m", "shape": shape}}  # fmt: skip
    checks = Checks(out=io.StringIO())
    figures = verify_main.verify(outputs, "s", 12.5, True, checks)
    spec = SchemaSpec(database="m", shape=ReportShape(bid_size=2, ask_size=3))
    assert calls["kafka"] == ("k:1",) and calls["check_topic"] == ("metrics_raw", 4, 3)
    topic, reports, spacing_s = calls["produce"]
    assert (topic, len(reports), spacing_s) == ("metrics_raw", verify_main.CANARIES, verify_main.CANARY_SPACING_S)
    for report in reports:  # canaries of the stack's shape (no producer accounting: they are not the generator's)
        levels = [key for key in json.loads(report) if key.startswith(("bid_", "ask_"))]
        assert levels == spec.shape.level_names("bid") + spec.shape.level_names("ask")
    canaries = [Canary(0, n, 1.0, 2) for n in range(verify_main.CANARIES)]
    assert calls["clickhouse"] == (outputs, spec, "s", 12.5, canaries, checks, figures)
    assert calls["grafana"][:4] == (outputs, spec, "s", True) and isinstance(calls["grafana"][4], Kafka)
    assert calls["grafana"][5:] == (checks, figures) and checks.passed


def test_canaries_wait_for_every_in_sync_replica(broker: TansuBroker, monkeypatch: pytest.MonkeyPatch) -> None:
    import kafka  # noqa: PLC0415 -- the class the hop imports on use

    made: list[dict] = []
    real = kafka.KafkaProducer
    monkeypatch.setattr(kafka, "KafkaProducer", lambda **config: made.append(config) or real(**config))
    [canary] = KafkaHop(broker.bootstrap).produce("acks", [canary_report(ReportShape())])
    assert made[0]["acks"] == "all" and made[0]["bootstrap_servers"] == [broker.bootstrap]
    assert made[0]["bootstrap_timeout_ms"] == kafka_hop.BOOTSTRAP_TIMEOUT_MS  # a missing broker fails the check soon
    assert canary.acked_at <= time.time() and canary.timestamp_ms % 1000 == 999


def test_a_check_line_says_how_long_the_check_took(monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = iter([10.0, 10.25, 20.0, 20.5])
    monkeypatch.setattr(checks_module, "time", SimpleNamespace(monotonic=lambda: next(ticks)))
    out = io.StringIO()
    checks = Checks(out=out)
    assert checks.run("h", "fine", lambda: "all good", "x") is True
    assert checks.run("h", "broken", lambda: (_ for _ in ()).throw(ValueError("")), "make logs") is False
    assert out.getvalue().splitlines() == [
        "verify: ok   h: fine (0.25 s): all good",
        "verify: FAIL h: broken (0.50 s): ValueError; look further: make logs",  # an empty message: the type
    ]


def test_the_kafka_hop_tries_every_bootstrap_server_and_describes_only_its_topic(broker: TansuBroker) -> None:
    topic = make_topic(broker)
    make_topic(broker)  # another topic on the same broker: not ours to describe
    hop = KafkaHop(f"127.0.0.1:{free_port()},{broker.bootstrap}")  # the first server listed is down
    assert hop.check_topic(topic, 3, 1) == f"topic {topic}: 3 partitions, replication 1"
    with pytest.raises(Failed) as missing:
        hop.check_topic("no-such-topic", 3, 1)
    assert str(missing.value) == "expected topic no-such-topic, saw no such topic"


def test_canaries_go_out_back_to_back_unless_spaced(broker: TansuBroker) -> None:
    topic = make_topic(broker, partitions=1)
    began = time.monotonic()
    KafkaHop(broker.bootstrap).produce(topic, [canary_report(ReportShape()) for _ in range(4)])
    assert time.monotonic() - began < 3


def test_latency_runs_from_the_acknowledgement_in_milliseconds(chdb_spec: SchemaSpec) -> None:
    reports, (old, early) = canaries_at(chdb_spec, [(3, 1), (3, 2)])
    deliver(chdb_spec, reports, [(3, 1), (3, 2)])
    old = replace(old, acked_at=time.time() - 10_000)
    early = replace(early, acked_at=time.time() + 1000)  # the broker's clock ahead of ours: no negative latency
    latencies = ClickHouseHop(ChdbClient(), chdb_spec).canaries_landed([old, early])
    assert 10_000_000 <= latencies[0] < 10_000_000 + 5_000 and latencies[1] == 0.0, latencies  # 5 s for the query


def test_a_canary_acknowledged_longer_ago_than_its_bound_is_looked_for_once(
    chdb_spec: SchemaSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clickhouse_hop, "CONSUMER_SLACK_S", 1.0)
    quick = replace(chdb_spec, flush_interval_ms=100)  # the bound: 1.3 s from the acknowledgement
    _, [canary] = canaries_at(chdb_spec, [(2, 9)])
    began = time.monotonic()
    with pytest.raises(Failed, match="saw no such row"):
        ClickHouseHop(ChdbClient(), quick).canaries_landed([replace(canary, acked_at=time.time() - 1.3)])
    assert time.monotonic() - began < 1.0  # its time is up already, not another 1.3 s


class Refusing(ReaderStandIn):
    """The reader without its grant on the rollup: ClickHouse refuses what reads it (the panels at a minute)."""

    def query_with_columns(self, sql: str) -> tuple[list[str], list[tuple]]:
        if ".metrics_1m" in sql:
            raise RuntimeError("Code: 497. DB::Exception: grafana_reader: Not enough privileges.\n(stack trace)")
        return super().query_with_columns(sql)


def test_each_clickhouse_failure_points_at_its_logs(chdb_spec: SchemaSpec, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clickhouse_hop, "CONSUMER_SLACK_S", 0.2)
    quick = replace(chdb_spec, flush_interval_ms=100)
    logins = {"grafana_reader": Refusing()}  # every check runs as the reader
    monkeypatch.setattr(verify_main, "HttpClickHouse", lambda url, user, password: logins[user])
    monkeypatch.setattr(ClickHouseHop, "first_row_after", lambda self, started_at: 1 / 0)
    reports, canaries = canaries_at(quick, [(0, 1)])
    deliver(quick, reports, [(0, 1)], error="Cannot parse input")  # dead-lettered: never in the target table
    outputs = {"clickhouseUrl": "http://127.0.0.1:8123", "clickhouseAdminUser": "admin",
               "clickhouseAdminPassword": "x", "clickhouseReaderUser": "grafana_reader",
               "clickhouseReaderPassword": "y", "midPriceThreshold": 9.9}  # fmt: skip
    out, figures = io.StringIO(), verify_main.Figures()
    verify_main._clickhouse(outputs, quick, "dev", time.time() - 60, canaries, Checks(out=out), figures)
    lines = out.getvalue().splitlines()
    hints = look_further(lines)
    assert hints == {"verify: FAIL clickhouse: canaries landed": "clickhouse",
                     "verify: FAIL clickhouse: no canary dead-lettered": "clickhouse",
                     "verify: FAIL clickhouse: rows keep arriving": "generator",
                     "verify: FAIL clickhouse: Kafka consumers healthy": "clickhouse",
                     "verify: FAIL clickhouse: grafana_reader runs every Grafana query": "clickhouse"}  # fmt: skip
    assert "rows from the generator in the last 60 s" in out.getvalue()  # no report interval given: a minute
    assert "grafana_reader: Not enough privileges." in out.getvalue()
    assert figures.first_row_s is None  # the figure could not be measured: said as n/a, not a failure


def test_every_failed_check_is_counted() -> None:
    checks = Checks(out=io.StringIO())
    for _ in range(2):
        checks.run("h", "broken", lambda: 1 / 0, "x")
    assert checks.failures == 2 and not checks.passed


def test_wait_for_asks_again_soon_and_never_waits_past_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([False, True])
    began = time.monotonic()
    assert checks_module.wait_for(lambda: next(answers), timeout_s=5) is True
    assert time.monotonic() - began < 0.5  # asked again after a fifth of a second
    frozen = SimpleNamespace(monotonic=lambda: 100.0, sleep=lambda _s: pytest.fail("waited past a deadline of 0 s"))
    monkeypatch.setattr(checks_module, "time", frozen)  # a clock that has not moved, in this module only
    assert checks_module.wait_for(lambda: False, timeout_s=0) is False


def test_a_pulumi_that_does_not_answer_is_one_line_and_exit_2(
    pulumi_stand_in: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    (tmp_path / "bin" / "pulumi").write_text("#!/bin/sh\nexec sleep 10\n")
    monkeypatch.setattr(verify_main, "PULUMI_TIMEOUT_S", 0.5)
    began = time.monotonic()
    code, out, err = run_verify(capsys, "--stack", "dev")
    assert (code, out, err) == (2, "", "verify: `pulumi stack output` did not answer within 0.5 s\n")
    assert time.monotonic() - began < 5


def test_pulumi_gets_no_terminal_to_prompt_on(pulumi_stand_in: Path, tmp_path: Path) -> None:
    (tmp_path / "bin" / "pulumi").write_text('#!/bin/sh\nreadlink /proc/$$/fd/0 > "$PULUMI_CALLS"\necho "[]"\n')
    read_end, write_end = os.pipe()
    saved = os.dup(0)
    os.dup2(read_end, 0)  # this process's stdin is a pipe: a child that inherited it would show one
    try:
        assert verify_main.last_update_started("dev") is None
    finally:
        os.dup2(saved, 0)
        for fd in (saved, read_end, write_end):
            os.close(fd)
    assert pulumi_stand_in.read_text().strip() == "/dev/null"


def test_outputs_pulumi_printed_before_failing_are_not_trusted(
    pulumi_stand_in: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    (tmp_path / "outputs.json").write_text(json.dumps(down_outputs()))
    failing = '#!/bin/sh\ncat "$OUTPUTS"\necho "error: the backend went away" >&2\nexit 1\n'
    (tmp_path / "bin" / "pulumi").write_text(failing)
    monkeypatch.setenv("OUTPUTS", str(tmp_path / "outputs.json"))
    expected = "verify: no outputs for stack 'dev': error: the backend went away\n"
    assert run_verify(capsys, "--stack", "dev") == (2, "", expected)


def test_a_broker_that_stops_answering_fails_the_canaries_in_one_line_within_the_waits(
    cuttable: tuple[TansuBroker, TcpProxy], monkeypatch: pytest.MonkeyPatch
) -> None:
    import kafka  # noqa: PLC0415 -- the class the hop imports on use

    broker, proxy = cuttable
    topic = make_topic(broker, partitions=1)
    real = kafka.KafkaProducer

    def answering_until_the_send(**config: object) -> kafka.KafkaProducer:
        producer = real(**config)
        producer.partitions_for(topic)  # connected and the topic's leader known: then the broker goes quiet
        proxy.silence()
        return producer

    made: list[kafka.KafkaProducer] = []
    monkeypatch.setattr(
        kafka, "KafkaProducer", lambda **config: made.append(answering_until_the_send(**config)) or made[-1]
    )
    monkeypatch.setattr(kafka_hop, "ACK_TIMEOUT_S", 0.5)
    monkeypatch.setattr(kafka_hop, "CLOSE_TIMEOUT_S", 0.5)
    began = time.monotonic()
    with pytest.raises(Failed) as failure:
        KafkaHop(broker.bootstrap).produce(topic, [canary_report(ReportShape())])
    assert str(failure.value) == "expected canary 1 acknowledged within 0.5 s, saw no answer"
    assert time.monotonic() - began < 0.5 + 0.5 + 2  # the acknowledgement's wait, then the close's
    abandon(made[0])


class Pipe(io.StringIO):
    """stdout as a pipe: what is written shows only when flushed."""

    def __init__(self) -> None:
        super().__init__()
        self.shown = ""

    def flush(self) -> None:
        self.shown = self.getvalue()


def test_each_check_line_shows_as_soon_as_the_check_ends() -> None:
    out = Pipe()
    checks = Checks(out=out)
    checks.run("h", "fine", lambda: "all good", "x")
    assert out.shown.splitlines()[-1].startswith("verify: ok   h: fine (")
    checks.run("h", "broken", lambda: 1 / 0, "x")
    assert out.shown.splitlines()[-1].startswith("verify: FAIL h: broken (")
    checks.skip("h", "later", "no canary")
    assert out.shown.splitlines()[-1] == "verify: FAIL h: later (not run: no canary)"


def test_a_kubernetes_stack_is_said_to_be_outside_verify_in_one_line(capsys: pytest.CaptureFixture[str],
                                                                      tmp_path: Path) -> None:  # fmt: skip
    (tmp_path / "k8s.json").write_text(json.dumps({"platform": "kubernetes", "kafkaUiUrl": "x"}))
    code, _, err = run_verify(capsys, "--stack", "alice", "--outputs", str(tmp_path / "k8s.json"))
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("verify: stack 'alice' runs on platform kubernetes: make verify checks Docker stacks only")
