"""verify's ClickHouse hop on chdb and at the driver boundary: canaries landed, rows arriving, dead letters,
consumers, the reader's queries and limits, latency, where each failure points."""

from __future__ import annotations

import io
import sys
import time
import uuid
from dataclasses import replace
from typing import ClassVar

import pytest

from dashboards.alerts import pipeline_rules
from dashboards.panels import queried_panels
from ddl.spec import READER_LIMITS, ReaderLimit, SchemaSpec
from testbed.clickhouse import ChdbClient, ReaderStandIn
from testbed.verify_output import look_further
from testbed.verify_support import (
    Answering,
    RecordingDriver,
    Refusing,
    as_logged_in,
    canaries_at,
    deliver,
    generator_report,
    time_bounds,
)
from verify import __main__ as verify_main
from verify import clickhouse_hop
from verify.checks import Checks, Failed
from verify.clickhouse_hop import ClickHouseHop
from verify.kafka_hop import Canary


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
    assert str(failed.value) == (
        "expected `SELECT 1 SETTINGS readonly = 0` refused by a limit of the reader's profile, "
        "saw [Errno 111] Connection refused"
    )

    class Silent:
        def query(self, sql: str) -> list[tuple]:
            raise TimeoutError  # no message: the error itself is what was seen

    with pytest.raises(Failed) as failed:
        ClickHouseHop(Silent(), chdb_spec).limits_hold()  # type: ignore[arg-type]
    assert str(failed.value).endswith("refused by a limit of the reader's profile, saw TimeoutError()")


def test_every_attempt_to_lift_a_limit_is_one_clickhouse_could_apply() -> None:
    """ClickHouse reads a query's setting as its type before checking the profile's constraints: a value it
    cannot read (a misspelt or numeric overflow mode) is refused for that reason, which proves no limit."""

    class Recording(ReaderStandIn):
        def __init__(self) -> None:
            super().__init__()
            self.sent: list[str] = []

        def query_with_columns(self, sql: str) -> tuple[list[str], list[tuple]]:
            self.sent.append(sql)
            return super().query_with_columns(sql)

    reader = Recording()
    ClickHouseHop(reader, SchemaSpec()).limits_hold()
    lifting = [sql for sql in reader.sent if " SETTINGS " in sql]
    assert {sql.split(" SETTINGS ")[1].split(" = ")[0] for sql in lifting} == {
        "readonly",
        *(limit.setting for limit in READER_LIMITS),
    }
    for sql in lifting:  # without a profile (plain chdb) every one of them runs
        assert ChdbClient().query(sql) == [(1,)], sql


def test_a_reader_allowed_one_past_a_maximum_fails_naming_the_value_that_ran() -> None:
    """The profile deployed lets the reader raise max_execution_time one second past what the spec says: every
    other attempt is refused, this one runs, and verify names it."""
    spec_limit = ReaderStandIn.LIMITS["max_execution_time"]
    assert spec_limit.lowest is not None  # the one limit the reader may change, up to its value

    class OneTooLenient(ReaderStandIn):
        LIMITS: ClassVar[dict[str, ReaderLimit]] = {
            **ReaderStandIn.LIMITS,
            "max_execution_time": replace(spec_limit, value=int(spec_limit.value) + 1),
        }

    with pytest.raises(Failed) as failed:
        ClickHouseHop(OneTooLenient(), SchemaSpec()).limits_hold()
    assert str(failed.value) == (
        f"expected `SELECT 1 SETTINGS max_execution_time = {int(spec_limit.value) + 1}` refused by a limit of "
        "the reader's profile, saw it ran"
    )


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


def test_a_refused_query_is_named_with_the_servers_first_line() -> None:
    class Refusing:
        def query(self, sql: str) -> list[tuple]:
            raise RuntimeError("  Code: 497. DB::Exception: grafana_reader: Not enough privileges.\nStack trace: …")

    with pytest.raises(Failed) as failure:
        ClickHouseHop(Refusing(), SchemaSpec()).every_grafana_query_runs(9.9)  # type: ignore[arg-type]
    assert str(failure.value).endswith("to run, saw Code: 497. DB::Exception: grafana_reader: Not enough privileges.")


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


def test_each_clickhouse_failure_points_at_its_logs(chdb_spec: SchemaSpec, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clickhouse_hop, "CONSUMER_SLACK_S", 0.2)
    quick = replace(chdb_spec, flush_interval_ms=100)
    logins = {"grafana_reader": Refusing()}  # every check runs as the reader
    monkeypatch.setattr(verify_main, "HttpClickHouse", lambda url, user, password: logins[user])
    monkeypatch.setattr(ClickHouseHop, "first_row_after", lambda self, started_at: 1 / 0)
    monkeypatch.setattr(ClickHouseHop, "limits_hold", lambda self: 1 / 0)
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
                     "verify: FAIL clickhouse: grafana_reader runs every Grafana query": "clickhouse",
                     "verify: FAIL clickhouse: grafana_reader cannot lift its limits": "clickhouse"}  # fmt: skip
    assert "rows from the generator in the last 60 s" in out.getvalue()  # no report interval given: a minute
    assert "grafana_reader: Not enough privileges." in out.getvalue()
    assert figures.first_row_s is None  # the figure could not be measured: said as n/a, not a failure
