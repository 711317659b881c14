"""The generator against a real Kafka-protocol broker (tansu), including outages and SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from core.contract import ReportShape
from testbed.broker import TansuBroker, free_port, read_topic, wait_until_stored
from testbed.contract import assert_valid_report
from testbed.generator_process import SUMMARY, run_generator
from testbed.repo import REPO_ROOT
from testbed.tcp_proxy import TcpProxy


def summary(stderr: str) -> dict[str, str]:
    match = SUMMARY.search(stderr)
    assert match, f"no final summary line in:\n{stderr}"
    return {key: match[key] for key in ("reason", "produced", "delivered", "failed")}


def kafka_env(bootstrap: str, topic: str, **extra: str) -> dict[str, str]:
    return {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKA_TOPIC": topic, "PROGRESS_INTERVAL": "1", **extra}


def assert_exactly_once(messages: list[bytes], produced: int, shape: ReportShape) -> None:
    duplicates = [m for m, seen in Counter(messages).items() if seen > 1]
    assert not duplicates, f"{len(duplicates)} reports were written more than once"
    assert len(messages) == produced
    for message in messages:
        assert_valid_report(message, shape)


@pytest.mark.parametrize("shape", [ReportShape(), ReportShape(bid_size=5, ask_size=3, random_decimal=2)])
def test_count_reports_arrive_exactly_once(broker: TansuBroker, shape: ReportShape) -> None:
    topic = f"count-{shape.bid_size}x{shape.ask_size}"
    env = kafka_env(
        broker.bootstrap,
        topic,
        CREATE_REPORT_INTERVAL="0",
        BID_SIZE=str(shape.bid_size),
        ASK_SIZE=str(shape.ask_size),
        RANDOM_DECIMAL=str(shape.random_decimal),
    )
    process = run_generator("--count", "2000", env=env)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    result = summary(stderr.decode())
    assert result == {"reason": "count reached", "produced": "2000", "delivered": "2000", "failed": "0"}
    assert_exactly_once(read_topic(broker.bootstrap, topic, 2000), 2000, shape)


def test_paced_reports_follow_the_interval(broker: TansuBroker) -> None:
    started = time.monotonic()
    process = run_generator("--count", "20", env=kafka_env(broker.bootstrap, "paced", CREATE_REPORT_INTERVAL="0.05"))
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    took = time.monotonic() - started
    assert 19 * 0.05 <= took < 19 * 0.05 + 15, took  # 20 reports, 19 intervals: paced, not stalled
    assert len(read_topic(broker.bootstrap, "paced", 20)) == 20


def test_stdout_mode_prints_valid_json_lines() -> None:
    process = run_generator("--stdout", "--count", "5", env={"BID_SIZE": "4", "ASK_SIZE": "6"})
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    lines = stdout.splitlines()
    assert len(lines) == 5
    for line in lines:
        assert_valid_report(line, ReportShape(bid_size=4, ask_size=6))


def test_network_cut_loses_and_duplicates_nothing(cuttable: tuple[TansuBroker, TcpProxy]) -> None:
    broker, proxy = cuttable
    env = kafka_env(broker.bootstrap, "outage", CREATE_REPORT_INTERVAL="0.002", MAX_BUFFERED_REPORTS="100000")
    process = run_generator("--count", "6000", env=env)  # ~12 s of reports at 500/s
    wait_until_stored(broker.bootstrap, "outage", 500)  # delivering, well before the end
    proxy.cut()
    time.sleep(10)
    assert process.poll() is None, "the generator must ride out the outage"
    proxy.restore()
    _, stderr = process.communicate(timeout=180)
    assert process.returncode == 0, stderr
    result = summary(stderr.decode())
    assert result["failed"] == "0" and result["produced"] == result["delivered"] == "6000", result
    stalled = [int(n) for n in re.findall(r"progress .* buffered=(\d+)", stderr.decode())]
    assert max(stalled) > 2000, "acknowledgements should have stalled while the network was cut"
    messages = read_topic(broker.bootstrap, "outage", 6000)
    assert_exactly_once(messages, 6000, ReportShape())
    reports = [json.loads(message) for message in messages]
    assert sorted(r["sequence"] for r in reports) == list(range(1, 6001)), "the sequence has gaps across the cut"
    assert len({r["producer_id"] for r in reports}) == 1


def test_sigterm_flushes_everything_produced(broker: TansuBroker) -> None:
    process = run_generator(env=kafka_env(broker.bootstrap, "sigterm", CREATE_REPORT_INTERVAL="0"))
    wait_until_stored(broker.bootstrap, "sigterm", 1500)
    assert process.poll() is None
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    result = summary(stderr.decode())
    assert result["reason"] == "signal"
    produced = int(result["produced"])
    assert produced > 1000 and result["delivered"] == result["produced"] and result["failed"] == "0"
    assert_exactly_once(read_topic(broker.bootstrap, "sigterm", produced), produced, ReportShape())


def test_unreachable_broker_is_retried_until_stopped(tmp_path: Path) -> None:
    log = tmp_path / "stderr"
    with log.open("wb") as stderr:
        process = run_generator(env=kafka_env(f"127.0.0.1:{free_port()}", "nowhere"), stderr=stderr)
        deadline = time.monotonic() + 30  # one bootstrap attempt waits 5 s
        while "no broker reachable" not in log.read_text() and time.monotonic() < deadline:
            assert process.poll() is None, "the generator must keep retrying, not crash"
            time.sleep(0.1)
        assert process.poll() is None, log.read_text()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    text = log.read_text()
    assert process.returncode == 0, text
    assert "no broker reachable" in text and "stopped (signal) before a broker answered" in text
    assert "Traceback" not in text


def test_heartbeat_is_fresh_while_delivering_and_stale_without_a_broker(broker: TansuBroker, tmp_path: Path) -> None:
    heartbeat = tmp_path / "heartbeat"
    health = [sys.executable, "-m", "generator.health", str(heartbeat), "2"]
    env = kafka_env(broker.bootstrap, "heartbeat", CREATE_REPORT_INTERVAL="0.01", PROGRESS_INTERVAL="0.2",
                    HEARTBEAT_FILE=str(heartbeat))  # fmt: skip
    assert subprocess.run(health, cwd=REPO_ROOT, check=False).returncode == 1  # nothing delivered yet
    process = run_generator("--count", "150", env=env)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert subprocess.run(health, cwd=REPO_ROOT, check=False).returncode == 0
    stale = time.time() - 10
    os.utime(heartbeat, (stale, stale))
    unhealthy = subprocess.run(health, cwd=REPO_ROOT, check=False, capture_output=True, text=True)
    assert unhealthy.returncode == 1
    assert "no report delivered in the last 2s" in unhealthy.stdout


def test_sigterm_during_an_outage_exits_cleanly_within_the_shutdown_timeout(
    cuttable: tuple[TansuBroker, TcpProxy],
) -> None:
    broker, proxy = cuttable
    env = kafka_env(broker.bootstrap, "outage-stop", CREATE_REPORT_INTERVAL="0.005", SHUTDOWN_TIMEOUT="3")
    process = run_generator(env=env)
    wait_until_stored(broker.bootstrap, "outage-stop", 100)
    proxy.cut()
    time.sleep(3)
    assert process.poll() is None
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    took = time.monotonic() - signalled
    text = stderr.decode()
    assert process.returncode == 0, text
    assert "Traceback" not in text, text
    client_lines = re.findall(r" (?:DEBUG|INFO|WARNING|ERROR) kafka\.", text)
    assert not client_lines, "the Kafka client's own lines are quiet by default"
    result = summary(text)
    assert result["reason"] == "signal"
    undelivered = int(result["produced"]) - int(result["delivered"]) - int(result["failed"])
    assert undelivered > 0, result  # the outage kept reports from being acknowledged
    assert f"undelivered={undelivered}" in text
    assert took < 3 + 2, f"stopping took {took:.1f}s, more than SHUTDOWN_TIMEOUT"


@pytest.mark.parametrize("after_s", [0.2, 1.5, 5.3])
def test_sigterm_while_no_broker_answers_ends_the_process_within_half_a_second(after_s: float) -> None:
    """The first attempt to reach 127.0.0.1:9 (nothing listens) waits 5 s, then a 0.5 s backoff: a signal at
    any point ends the process within 0.5 s, and the log says what it was doing, without contradicting itself."""
    process = run_generator(env={"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9"})
    first = process.stderr.readline().decode()  # printed before any attempt: the run is under way
    assert " INFO generator: starting: topic metrics_raw at bootstrap servers 127.0.0.1:9, 10 reports/s" in first
    time.sleep(after_s)
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    _, rest = process.communicate(timeout=30)
    took = time.monotonic() - signalled
    text = rest.decode()
    assert process.returncode == 0, text
    assert took < 0.5, f"the process ended {took:.2f}s after SIGTERM"
    assert text.splitlines()[-1].endswith(
        "INFO generator: stopped (signal) before a broker answered at 127.0.0.1:9; nothing was produced"
    )
    assert "retrying" not in text and "Traceback" not in text
