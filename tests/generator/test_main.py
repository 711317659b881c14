"""The generator's run loop, sinks and CLI called in this process (against tansu where Kafka is involved), so
failure paths are driven for real and `make mutate` can see which test covers which function."""

from __future__ import annotations

import errno
import io
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from kafka import KafkaProducer

from core.contract import ReportShape
from core.generator_config import SETTINGS as GENERATOR_SETTINGS
from core.generator_config import GeneratorConfig, load_config
from generator import __main__ as cli
from generator import health, sinks
from generator.sinks import KafkaSink, StdoutSink
from testbed.broker import TansuBroker, abandon, free_port, read_topic, wait_until_stored
from testbed.contract import assert_valid_report
from testbed.generator_process import SUMMARY
from testbed.modules import rebuilt
from testbed.tcp_proxy import TcpProxy

FAST_FAILURE = {"KAFKA_DELIVERY_TIMEOUT_MS": "1500", "KAFKA_LINGER_MS": "0"}


def wait_for(condition, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def summary(caplog: pytest.LogCaptureFixture) -> dict[str, int | str]:
    matches = [SUMMARY.search(record.getMessage()) for record in caplog.records]
    found = [match.groupdict() for match in matches if match]
    assert len(found) == 1, caplog.text
    return {key: value if key == "reason" else int(value) for key, value in found[0].items()}


def cut_once_delivering(broker: TansuBroker, proxy: TcpProxy, topic: str) -> threading.Thread:
    """Cuts the broker off as soon as `topic` holds a report (started; join it)."""

    def cut() -> None:
        wait_until_stored(broker.bootstrap, topic, 30)
        proxy.cut()

    cutter = threading.Thread(target=cut)
    cutter.start()
    return cutter


def not_delivered(caplog: pytest.LogCaptureFixture, topic: str) -> list[logging.LogRecord]:
    """The failed deliveries logged for `topic` (each test has its own: a sink of an earlier test may fail late)."""
    return [
        r
        for r in caplog.records
        if r.getMessage().startswith("report not delivered") and f"topic='{topic}'" in r.getMessage()
    ]


@pytest.fixture(autouse=True)
def producers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[dict, KafkaProducer]]]:
    """Every producer the generator makes here, with its arguments; one left unclosed is stopped afterwards."""
    made: list[tuple[dict, KafkaProducer]] = []

    def recorded(**config: object) -> KafkaProducer:
        made.append((config, KafkaProducer(**config)))
        return made[-1][1]

    monkeypatch.setattr(sinks, "KafkaProducer", recorded)
    yield made
    for _, producer in made:
        if not producer._closed:
            abandon(producer)


@pytest.fixture
def run_main(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> Iterator:
    """`main()` with only the given variables set; the signal handlers it installs are put back afterwards."""
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    caplog.set_level(logging.INFO, logger="generator")

    def run(*args: str, **env: str) -> int:
        for name in [name for name in os.environ if name.startswith(("KAFKA_", "CREATE_", "RANDOM_", "LOG_"))]:
            monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return cli.main(list(args))

    yield run
    for signum, handler in handlers.items():
        signal.signal(signum, handler)


def test_delivery_failures_are_counted_logged_and_release_their_back_pressure_slots(
    cuttable: tuple[TansuBroker, TcpProxy], caplog: pytest.LogCaptureFixture
) -> None:
    broker, proxy = cuttable
    config = load_config({"KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "KAFKA_TOPIC": "fail",
                          "MAX_BUFFERED_REPORTS": "4", **FAST_FAILURE})  # fmt: skip
    stop = threading.Event()
    sink = KafkaSink(config, stop)
    assert sink.send(b'{"n": 0}', stop)
    wait_for(lambda: sink.delivered == 1)
    proxy.cut()
    for n in range(4):  # every slot taken by a report that will never be acknowledged
        assert sink.send(b'{"n": %d}' % n, stop)
    wait_for(lambda: sink.failed == 4, timeout_s=15)
    assert (sink.produced, sink.delivered, sink.buffered()) == (5, 1, 0)
    failures = [record.getMessage() for record in not_delivered(caplog, "fail")]
    assert len(failures) == 4 and failures[-1].endswith("(failed=4)"), failures
    assert failures[0].startswith("report not delivered: KafkaTimeoutError: Expiring "), failures[0]  # the reason
    sent_again = threading.Thread(target=lambda: [sink.send(b"{}", stop) for _ in range(4)])
    sent_again.start()
    sent_again.join(timeout=5)  # waits until stopped if the failed reports kept their slots
    stopped_waiting = sent_again.is_alive()
    stop.set()
    assert not stopped_waiting, "failed reports must give their back-pressure slots back"
    assert sink.produced == 9
    wait_for(lambda: sink.buffered() == 0, timeout_s=15)  # the last four fail here, not in a later test's log
    sink.close(0)


def test_send_waits_at_the_buffer_limit_and_gives_up_only_when_stopped(
    cuttable: tuple[TansuBroker, TcpProxy],
) -> None:
    broker, proxy = cuttable
    config = load_config({"KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "KAFKA_TOPIC": "full",
                          "MAX_BUFFERED_REPORTS": "2"})  # fmt: skip
    stop = threading.Event()
    sink = KafkaSink(config, stop)
    assert sink.send(b"{}", stop)
    wait_for(lambda: sink.delivered == 1)
    proxy.cut()
    assert sink.send(b"{}", stop) and sink.send(b"{}", stop)
    threading.Timer(1.0, stop.set).start()
    began = time.monotonic()
    assert sink.send(b"{}", stop) is False  # no slot: waits instead of dropping, until stopped
    assert 1.0 <= time.monotonic() - began < 1.0 + 2 * sinks.WAIT_SLICE_S
    assert sink.produced == 3
    sink.close(0.5)
    assert sink.buffered() == 2  # still unacknowledged: logged by close, not raised


def test_a_flush_that_times_out_is_logged_not_raised(
    cuttable: tuple[TansuBroker, TcpProxy], caplog: pytest.LogCaptureFixture
) -> None:
    broker, proxy = cuttable
    stop = threading.Event()
    sink = KafkaSink(load_config({"KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "KAFKA_TOPIC": "flush"}), stop)
    assert sink.send(b"{}", stop)
    wait_for(lambda: sink.delivered == 1)
    proxy.cut()
    assert sink.send(b"{}", stop)
    began = time.monotonic()
    sink.close(1.0)
    assert time.monotonic() - began < 3
    [flush] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("flush")]
    assert re.fullmatch(r"flush incomplete after 1\.0s: KafkaTimeoutError: .+ \(undelivered=1\)", flush), flush


def test_request_timeout_fits_inside_the_delivery_timeout() -> None:
    assert sinks.request_timeout_ms(GeneratorConfig()) == sinks.REQUEST_TIMEOUT_MS
    short = GeneratorConfig(linger_ms=500, delivery_timeout_ms=2000)
    assert sinks.request_timeout_ms(short) == 1500  # the client refuses linger + request > delivery


def test_main_delivers_count_reports_and_summarises(broker: TansuBroker, run_main, caplog) -> None:
    began = time.monotonic()
    code = run_main("--count", "300", KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap, KAFKA_TOPIC="inprocess",
                    CREATE_REPORT_INTERVAL="0", BID_SIZE="3", ASK_SIZE="2")  # fmt: skip
    took = time.monotonic() - began
    assert code == 0
    assert summary(caplog) == {"reason": "count reached", "produced": 300, "delivered": 300, "failed": 0,
                               "buffered": 0, "undelivered": 0}  # fmt: skip
    rate = int(re.search(r"stopped \(count reached\) rate_per_s=(\d+)", caplog.text)[1])
    assert 300 / took <= rate <= 300 / took * 3  # reports delivered per second of the run
    messages = read_topic(broker.bootstrap, "inprocess", 300)
    assert len(messages) == 300
    for message in messages:
        assert_valid_report(message, ReportShape(bid_size=3, ask_size=2))


def test_main_counts_reports_that_failed_during_a_cut(cuttable, run_main, caplog) -> None:
    broker, proxy = cuttable

    cutter = cut_once_delivering(broker, proxy, "cut")
    code = run_main("--count", "200", KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap, KAFKA_TOPIC="cut",
                    CREATE_REPORT_INTERVAL="0.01", SHUTDOWN_TIMEOUT="2", **FAST_FAILURE)  # fmt: skip
    cutter.join()
    assert code == 0
    result = summary(caplog)
    assert result["reason"] == "count reached" and result["produced"] == 200, result
    assert result["failed"] > 0, result  # whether the rest fail or are still in flight at close is the client's
    assert result["delivered"] + result["failed"] + result["undelivered"] == 200, result
    assert result["undelivered"] == result["buffered"], result
    logged = not_delivered(caplog, "cut")
    assert len(logged) == result["failed"] and all(r.levelno == logging.ERROR for r in logged)


RETRY = re.compile(
    r"no broker reachable at (?P<servers>\S+) \(this attempt waited (?P<waited>[\d.]+)s\); "
    r"next attempt in (?P<backoff>[\d.]+)s, waiting up to (?P<limit>[\d.]+)s"
)


def test_main_stopped_before_any_broker_answers_exits_0(run_main, caplog, monkeypatch) -> None:
    monkeypatch.setattr(sinks, "BROKER_WAIT_MS", 300)
    monkeypatch.setattr(sinks, "BACKOFF_START_S", 0.1)
    timer = threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    began = time.monotonic()
    servers = f"127.0.0.1:{free_port()},127.0.0.1:{free_port()}"
    code = run_main(KAFKA_BOOTSTRAP_SERVERS=servers, KAFKA_TOPIC="nowhere")
    timer.join()
    assert code == 0
    assert time.monotonic() - began < 1.5 + 2
    retries = [(r, RETRY.fullmatch(r.getMessage())) for r in caplog.records if "no broker reachable" in r.getMessage()]
    assert len(retries) >= 2 and all(match for _, match in retries), retries  # retried, not given up at once
    first, second = retries[0][1], retries[1][1]
    assert first and second and first["servers"] == servers and first["limit"] == "0.3"
    assert (first["backoff"], second["backoff"]) == ("0.1", "0.2")  # the backoff doubles
    # what a line says is the real wait: the next line comes after the backoff plus that attempt's own wait
    gap = retries[1][0].created - retries[0][0].created
    assert gap == pytest.approx(float(first["backoff"]) + float(second["waited"]), abs=0.1), (gap, retries)
    assert 0.2 <= float(first["waited"]) <= 0.3 + 0.2
    assert f"stopped (signal) before a broker answered at {servers}; nothing was produced" in caplog.messages


def send_signal(signalled: list[float]) -> None:
    signalled.append(time.monotonic())
    os.kill(os.getpid(), signal.SIGTERM)


def test_a_signal_is_acted_on_within_half_a_second_while_no_broker_answers(run_main, caplog) -> None:
    """In every stage of connecting to a broker that never answers (the first attempt, the backoff between
    attempts, a later attempt), SIGTERM ends the run within 0.5 s, not when the attempt would have given up."""
    servers = "127.0.0.1:9"  # the discard port: nothing listens there
    for after_s in (0.3, 5.3, 6.2):  # during the first attempt (5 s), the backoff after it (0.5 s), the second
        caplog.clear()
        signalled: list[float] = []
        timer = threading.Timer(after_s, send_signal, (signalled,))
        timer.start()
        assert run_main(KAFKA_BOOTSTRAP_SERVERS=servers) == 0
        took = time.monotonic() - signalled[0]
        timer.join()
        assert took < 0.5, f"stopping {after_s}s in took {took:.2f}s"
        assert caplog.messages[0].startswith(
            f"starting: topic metrics_raw at bootstrap servers {servers}, 10 reports/s"
        )
        assert caplog.messages[-1] == f"stopped (signal) before a broker answered at {servers}; nothing was produced"


def test_main_stdout_writes_count_json_lines(run_main, capsysbinary) -> None:
    assert run_main("--count", "5", "--stdout", CREATE_REPORT_INTERVAL="0", RANDOM_SEED="7") == 0
    lines = capsysbinary.readouterr().out.splitlines()
    assert len(lines) == 5
    assert [json.loads(line)["sequence"] for line in lines] == [1, 2, 3, 4, 5]
    assert run_main("--count", "5", "--stdout", CREATE_REPORT_INTERVAL="0", RANDOM_SEED="7") == 0
    again = capsysbinary.readouterr().out.splitlines()
    assert [json.loads(line)["bid_1"] for line in again] == [json.loads(line)["bid_1"] for line in lines]  # seeded
    assert vars(cli.parse_args(["--count", "1"]))["count"] == 1


def test_the_log_has_time_level_and_logger_and_the_client_is_quiet(run_main, capsys, monkeypatch) -> None:
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])  # as in the container: nothing configured before main
    monkeypatch.setattr(root, "level", logging.WARNING)
    assert run_main("--count", "2", "--stdout", CREATE_REPORT_INTERVAL="0", LOG_LEVEL="ERROR") == 0
    assert root.level == logging.ERROR  # LOG_LEVEL applies to everything the generator logs
    assert run_main("--count", "2", "--stdout", CREATE_REPORT_INTERVAL="0") == 0
    handlers = list(root.handlers)
    for handler in handlers:
        root.removeHandler(handler)
    err = capsys.readouterr().err.strip().splitlines()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO generator: stopped \(count reached\) .*", err[-1])
    assert logging.getLogger("kafka").level == logging.CRITICAL  # CLIENT_LOG_LEVEL's default


def test_main_refuses_a_bad_variable_in_one_line(run_main, capsys) -> None:
    assert run_main("--stdout", KAFKA_DELIVERY_TIMEOUT_MS="1200", KAFKA_LINGER_MS="500") == 2
    error = capsys.readouterr().err
    assert error == (
        "generator: KAFKA_DELIVERY_TIMEOUT_MS='1200' is not accepted with KAFKA_LINGER_MS=500: "
        "expected an integer >= KAFKA_LINGER_MS + 1000\n"
    )


@pytest.mark.parametrize("raw", ["0", "-1", "x", "1.5", ""])
def test_count_must_be_a_positive_integer(raw: str, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.parse_args(["--count", raw])
    assert exited.value.code == 2
    assert f"{raw!r} is not accepted: expected an integer >= 1" in capsys.readouterr().err


def test_count_and_stdout_are_read() -> None:
    assert vars(cli.parse_args(["--count", "12", "--stdout"])) == {"count": 12, "stdout": True}
    assert vars(cli.parse_args([])) == {"count": None, "stdout": False}


@pytest.mark.parametrize(
    ("interval_s", "elapsed_s", "made", "due"),
    [(0, 5.0, 10, cli.MAX_BATCH), (0.1, 0.0, 0, 1), (0.1, 0.25, 0, 3), (0.1, 0.25, 3, 0), (0.1, 0.25, 9, 0),
     (0.5, 10.0, 15, 6)],
)  # fmt: skip
def test_reports_due_keeps_the_pace(interval_s: float, elapsed_s: float, made: int, due: int) -> None:
    assert cli.reports_due(interval_s, elapsed_s, made) == due


class NeverAcknowledged(StdoutSink):
    """Takes reports but, like a broker that never answers, acknowledges none."""

    def send(self, report: bytes, stop: threading.Event) -> bool:
        self.produced += 1
        return True


def paced_config(tmp_path: Path, **values: object) -> GeneratorConfig:
    defaults = {"interval_s": 0.02, "progress_interval_s": 0.1, "heartbeat_file": str(tmp_path / "heartbeat")}
    return GeneratorConfig(**{**defaults, **values})  # type: ignore[arg-type]


def test_produce_paces_logs_progress_and_touches_the_heartbeat(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="generator")
    config = paced_config(tmp_path)
    out = io.BytesIO()
    began, began_wall = time.monotonic(), time.time()
    sink = StdoutSink(out)
    cli.produce(config, sink, 20, threading.Event())
    took = time.monotonic() - began
    assert len(out.getvalue().splitlines()) == 20 and sink.produced == sink.delivered == 20 and sink.failed == 0
    assert 19 * 0.02 <= took < 19 * 0.02 + 1.0  # paced, not flat out, and not much slower
    progress = [r for r in caplog.records if r.getMessage().startswith("progress ")]
    assert 2 <= len(progress) <= took / 0.1 + 1, progress  # about every 0.1 s of the run
    assert all(re.fullmatch(r"progress rate_per_s=\d+ produced=\d+ .*", r.getMessage()) for r in progress)
    assert progress[0].created - began_wall >= 0.09  # the first after one interval, not at once
    assert (tmp_path / "heartbeat").exists()


def test_produce_leaves_the_heartbeat_alone_while_nothing_is_delivered(tmp_path: Path) -> None:
    sink = NeverAcknowledged(io.BytesIO())
    cli.produce(paced_config(tmp_path), sink, 20, threading.Event())
    assert sink.produced == 20
    assert not (tmp_path / "heartbeat").exists()


def test_produce_returns_as_soon_as_it_is_stopped(tmp_path: Path) -> None:
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    sink = StdoutSink(io.BytesIO())
    began = time.monotonic()
    cli.produce(paced_config(tmp_path, interval_s=0.05), sink, None, stop)
    assert time.monotonic() - began < 0.3 + 2  # not the run of a generator without a count: forever
    assert 1 <= sink.produced <= 0.3 / 0.05 + 2


def test_health_check_is_healthy_only_with_a_fresh_heartbeat(tmp_path: Path, capsys) -> None:
    heartbeat = tmp_path / "heartbeat"
    assert health.main([str(heartbeat), "2"]) == 1  # nothing delivered yet: no file
    assert (
        capsys.readouterr().out == f"generator: no report delivered in the last 2s ({heartbeat} is stale or missing)\n"
    )
    heartbeat.touch()
    assert health.main([str(heartbeat), "2"]) == 0
    assert capsys.readouterr().out == ""
    stale = time.time() - 10
    os.utime(heartbeat, (stale, stale))
    assert health.main([str(heartbeat), "2.5"]) == 1
    assert "in the last 2.5s" in capsys.readouterr().out
    assert health.main([str(heartbeat), "11"]) == 0  # the age is compared with the limit given


def test_health_check_usage_is_one_line_and_exit_2(capsys) -> None:
    assert health.main([]) == 2
    assert health.main(["/tmp/heartbeat"]) == 2
    assert capsys.readouterr().err == "usage: python -m generator.health HEARTBEAT_FILE MAX_AGE_SECONDS\n" * 2


def test_a_heartbeat_exactly_max_age_old_is_still_fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    heartbeat = tmp_path / "heartbeat"
    heartbeat.touch()
    os.utime(heartbeat, (1_000_000.0, 1_000_000.0))
    monkeypatch.setattr(health.time, "time", lambda: 1_000_002.0)
    assert health.is_fresh(heartbeat, 2) and not health.is_fresh(heartbeat, 1.999)


def test_help_names_the_command_and_says_what_each_option_does(monkeypatch, capsys) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit) as exited:
        cli.parse_args(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m generator [-h] [--count COUNT] [--stdout]\n\n")
    assert "\n`python -m generator`: produce reports until stopped, or `--count` of them.\n" in out
    assert re.search(r"\n  --count COUNT +stop after N reports, flush and exit\n", out), out
    assert re.search(r"\n  --stdout +write JSON lines to stdout instead of Kafka\n", out), out


@pytest.mark.parametrize(("compression", "sent_as"), [("gzip", "gzip"), ("none", None)])
def test_the_producer_is_idempotent_waits_for_all_replicas_and_takes_the_batching_asked_for(
    broker: TansuBroker, compression: str, sent_as: str | None, producers: list
) -> None:
    config = load_config({"KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "KAFKA_COMPRESSION": compression,
                          "KAFKA_LINGER_MS": "37", "KAFKA_BATCH_BYTES": "12345"})  # fmt: skip
    sink = KafkaSink(config, threading.Event())
    used = sink._producer.config  # what the client settled on, after its own defaults and checks
    sink.close(1)
    assert {key: used[key] for key in ("acks", "enable_idempotence", "compression_type", "linger_ms", "batch_size",
                                       "max_block_ms", "bootstrap_timeout_ms")} == {
        "acks": -1, "enable_idempotence": True, "compression_type": sent_as, "linger_ms": 37, "batch_size": 12345,
        "max_block_ms": sinks.METADATA_WAIT_MS, "bootstrap_timeout_ms": sinks.BROKER_WAIT_MS}  # fmt: skip
    # asked for, not left to the client's defaults: asked for, a broker or a setting that cannot give them is
    # refused; by default the client would only warn and carry on without (kafka/producer/kafka.py L559-600)
    [(arguments, _)] = producers
    assert (arguments["acks"], arguments["enable_idempotence"]) == ("all", True)


def test_a_reader_that_goes_away_ends_the_run_quietly(run_main, monkeypatch: pytest.MonkeyPatch) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `python -m generator --stdout | head -1` once head has exited
    stdout = open(write_end, "w")  # noqa: SIM115 -- closed below, after main replaced what it writes to
    monkeypatch.setattr(sys, "stdout", stdout)
    assert run_main("--count", "5", "--stdout", CREATE_REPORT_INTERVAL="0") == 0
    stdout.write("more\n")
    stdout.flush()  # what is written to stdout from now on goes nowhere instead of raising at exit
    stdout.close()


def test_a_signal_ends_the_run_and_the_summary_says_so(run_main, caplog, capsysbinary) -> None:
    signal_soon = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM))
    signal_soon.start()
    assert run_main("--stdout", CREATE_REPORT_INTERVAL="0.05") == 0
    signal_soon.join()  # while main's handler is still installed, however early main returned
    result = summary(caplog)
    assert result["reason"] == "signal" and result["produced"] >= 5, result
    assert len(capsysbinary.readouterr().out.splitlines()) == result["produced"]


def test_the_final_flush_gets_shutdown_timeout_and_no_longer(cuttable, run_main, caplog) -> None:
    broker, proxy = cuttable

    cutter = cut_once_delivering(broker, proxy, "late")
    began = time.monotonic()
    code = run_main("--count", "100", KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap, KAFKA_TOPIC="late",
                    CREATE_REPORT_INTERVAL="0.01", SHUTDOWN_TIMEOUT="1")  # fmt: skip
    took = time.monotonic() - began
    cutter.join()
    assert code == 0
    result = summary(caplog)
    # the delivery timeout (120 s) has not passed: the rest is still in flight when the flush gives up
    assert result["failed"] == 0 and result["undelivered"] > 0, result
    assert took < 100 * 0.01 + 1 + 3, took
    assert "flush incomplete after 1.0s" in caplog.text


def test_produce_waits_between_reports_instead_of_spinning_and_makes_exactly_count(tmp_path: Path) -> None:
    sink, stop, cpu_s = StdoutSink(io.BytesIO()), threading.Event(), []

    def run() -> None:
        began = time.thread_time()
        cli.produce(paced_config(tmp_path, interval_s=0.05), sink, 9, stop)
        cpu_s.append(time.thread_time() - began)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=5)
    stop.set()
    worker.join()
    assert sink.produced == 9  # an odd count: the last report is made on its own
    assert cpu_s[0] < 0.1, cpu_s  # 0.4 s of pacing spent waiting, not polling the clock


def test_produce_stops_while_the_sink_waits_for_room(cuttable: tuple[TansuBroker, TcpProxy]) -> None:
    broker, proxy = cuttable
    config = load_config({"KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "KAFKA_TOPIC": "room",
                          "MAX_BUFFERED_REPORTS": "2", "CREATE_REPORT_INTERVAL": "0"})  # fmt: skip
    stop = threading.Event()
    sink = KafkaSink(config, stop)
    assert sink.send(b"{}", stop)
    wait_for(lambda: sink.delivered == 1)
    proxy.cut()
    threading.Timer(1.0, stop.set).start()
    began = time.monotonic()
    cli.produce(config, sink, None, stop)  # both slots taken, then waits for one until stopped
    assert time.monotonic() - began < 1.0 + 0.5  # the wait for room noticed the stop within 0.5 s
    assert sink.produced == 1 + 2
    sink.close(0)


def test_a_send_before_the_topic_is_known_waits_and_says_so_until_stopped(
    cuttable: tuple[TansuBroker, TcpProxy], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker, proxy = cuttable
    monkeypatch.setattr(sinks, "WAITING_LOG_EVERY_S", 0.4)
    config = load_config({"KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "KAFKA_TOPIC": "unknown",
                          "MAX_BUFFERED_REPORTS": "1"})  # fmt: skip
    stop = threading.Event()
    sink = KafkaSink(config, stop)
    proxy.cut()  # connected, but the topic's partitions were never asked for
    timer = threading.Timer(1.0, stop.set)
    timer.start()
    assert sink.send(b"{}", stop) is False
    stopped_after = time.monotonic() - timer.interval  # roughly when the flag was set
    waits = [r.getMessage() for r in caplog.records if "waiting for topic" in r.getMessage()]
    assert waits[0].startswith("waiting for topic unknown: KafkaTimeoutError: "), waits[0]
    assert 2 <= len(waits) <= 4, waits  # asked again and said so, but not at every 0.1 s attempt
    assert re.fullmatch(r"still waiting for topic unknown after \d+s", waits[1]), waits
    assert time.monotonic() - stopped_after < 1.0 + 0.5  # the wait for metadata noticed the stop in time
    proxy.restore()
    assert sink.send(b"{}", threading.Event())  # the slot was given back when it stopped waiting
    wait_for(lambda: sink.delivered == 1)
    sink.close(1)


def test_progress_due_exactly_at_the_interval_is_logged(monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    caplog.set_level(logging.INFO, logger="generator")
    readings = iter([100.0, 100.5])  # the start, then the first round: exactly one progress interval later
    clock = SimpleNamespace(monotonic=lambda: next(readings, 100.5))
    monkeypatch.setattr(cli, "time", clock)
    config = GeneratorConfig(interval_s=0, progress_interval_s=0.5)
    cli.produce(config, StdoutSink(io.BytesIO()), 1, threading.Event())
    assert len([r for r in caplog.records if r.getMessage().startswith("progress ")]) == 1


# --- issue 23: what a new user trips on -------------------------------------------------------------------------


def test_a_heartbeat_that_cannot_be_written_mid_run_is_one_logged_line_not_a_crash(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="generator")
    gone = tmp_path / "gone"
    gone.mkdir()
    config = paced_config(gone, interval_s=0.01, progress_interval_s=0.05)
    gone.rmdir()  # accepted at start, then the directory went away (a volume unmounted, a tmp cleaner)
    sink = StdoutSink(io.BytesIO())
    cli.produce(config, sink, 40, threading.Event())
    assert sink.produced == 40  # the run went on
    failures = [r for r in caplog.records if "cannot touch HEARTBEAT_FILE" in r.getMessage()]
    assert len(failures) == 1 and failures[0].levelno == logging.ERROR, caplog.text  # once, not at every progress
    message = failures[0].getMessage()  # what failed on which file, and why
    assert message.startswith(f"cannot touch HEARTBEAT_FILE {config.heartbeat_file}: ") and "No such file" in message
    assert "\n" not in failures[0].getMessage() and failures[0].exc_info is None
    recreate = threading.Timer(0.2, gone.mkdir)  # back mid-run: said once too, and touched again
    recreate.start()
    cli.produce(config, sink, 80, threading.Event())
    recreate.join()
    assert [r.getMessage() for r in caplog.records].count(
        f"HEARTBEAT_FILE {config.heartbeat_file} is written again"
    ) == 1
    assert (gone / "heartbeat").exists()


def numeric_bounds(accepted: str) -> tuple[str, str]:
    """The smallest and the largest value a numeric rule's words accept."""
    match = re.fullmatch(r"an? (?:integer|number) from (?:KAFKA_LINGER_MS \+ )?(\S+) to (\S+)", accepted)
    assert match, f"the rule {accepted!r} names no largest value: a value it accepts could overflow"
    return match[1], match[2]


NUMERIC = [s.env for s in GENERATOR_SETTINGS if s.accepted.startswith(("an integer", "a number"))]


@pytest.mark.parametrize("env", NUMERIC)
def test_every_numeric_variable_runs_at_its_smallest_and_its_largest_value(
    env: str, broker: TansuBroker, run_main, caplog
) -> None:
    setting = next(s for s in rebuilt("core.generator_config").SETTINGS if s.env == env)
    for value in numeric_bounds(setting.accepted):
        caplog.clear()
        extra = {"KAFKA_LINGER_MS": "0"} if env == "KAFKA_DELIVERY_TIMEOUT_MS" else {}  # its floor is linger + 1000
        timer = threading.Timer(0.6, os.kill, (os.getpid(), signal.SIGTERM))
        timer.start()
        code = run_main(KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap, KAFKA_TOPIC=f"bounds-{env.lower()}",
                        **{"SHUTDOWN_TIMEOUT": "10", **extra, env: value})  # fmt: skip
        timer.join()
        assert code == 0, f"{env}={value}: {caplog.text}"
        result = summary(caplog)
        assert result["reason"] == "signal" and result["produced"] >= 1, (env, value, result)
        assert result["failed"] == result["undelivered"] == 0, (env, value, result)


@pytest.mark.parametrize("heartbeat", ["/proc/heartbeat", "tmp_path"], ids=["cannot-create", "a-directory"])
def test_a_heartbeat_file_that_cannot_be_written_is_refused_before_the_run(
    heartbeat: str, tmp_path: Path, run_main, capsys
) -> None:
    heartbeat, error = (str(tmp_path), errno.EISDIR) if heartbeat == "tmp_path" else (heartbeat, errno.ENOENT)
    assert run_main("--stdout", "--count", "3", HEARTBEAT_FILE=heartbeat) == 2
    out, err = capsys.readouterr()
    (line,) = err.splitlines()
    assert out == "" and line.startswith(f"generator: HEARTBEAT_FILE={heartbeat!r} is not accepted: "), line
    assert f"({os.strerror(error)})" in line  # why, as the OS said it
    assert line.endswith("expected a file the generator can create or write")


def test_checking_the_heartbeat_file_leaves_none_behind_and_an_old_one_as_old(tmp_path: Path) -> None:
    """Nothing is delivered yet when the file is checked: a fresh heartbeat then would be a lie to the health check."""
    new = tmp_path / "heartbeat"
    assert cli.heartbeat_problem(str(new)) is None
    assert not new.exists()
    old = tmp_path / "from-an-earlier-run"
    old.write_text("kept")
    os.utime(old, (1_000_000.0, 1_000_000.0))
    assert cli.heartbeat_problem(str(old)) is None
    assert old.read_text() == "kept" and old.stat().st_mtime == 1_000_000.0  # still as stale as it was


@pytest.mark.parametrize(
    ("to_stdout", "interval_s", "count", "where", "pace", "until"),
    [
        (True, 0.0, 5, "JSON lines to stdout", "as fast as possible", "stopping after 5 report(s)"),
        (False, 0.5, None, "topic t at bootstrap servers a:1,b:2", "2 reports/s", "until stopped"),
    ],
)
def test_the_start_line_says_where_how_fast_and_until_when(
    to_stdout: bool, interval_s: float, count: int | None, where: str, pace: str, until: str
) -> None:
    """The first line an operator reads in `docker logs`: where the reports go, at what rate, and for how long."""
    config = GeneratorConfig(interval_s=interval_s, bootstrap_servers=("a:1", "b:2"), topic="t")
    line = cli.start_line(config, to_stdout, count)
    assert line == f"starting: {where}, {pace} (CREATE_REPORT_INTERVAL={interval_s:g}), {until}"
