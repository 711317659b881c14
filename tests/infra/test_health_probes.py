"""The health checks containers run, executed with `sh` against stand-ins that record what they are given:
each probes the port its service listens on, and the Kafka probe's JVM gets its own small heap."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from infra.clickhouse_server import HTTP_PORT as CLICKHOUSE_HTTP_PORT
from infra.grafana_server import HTTP_PORT as GRAFANA_HTTP_PORT
from infra.kafka_cluster import PROBE_HEAP_MB
from infra.kafka_ui import UI_PORT
from infra.zookeeper import CLIENT_PORT
from testbed.program import run_program, unwrap


def probe_of(container) -> str:
    return container.inputs["healthcheck"]["tests"][1]


def run_probe(tmp_path: Path, probe: str, tool: str, answer: str, exit_code: int, env: dict[str, str]) -> tuple:
    """Run `probe` with a stand-in `tool` that records its arguments and environment, prints `answer`."""
    tools, log = tmp_path / "bin", tmp_path / "calls.log"
    tools.mkdir(exist_ok=True)
    stand_in = tools / Path(tool).name
    stand_in.write_text(f'#!/bin/sh\necho "$* HEAP=$KAFKA_HEAP_OPTS OPTS=$KAFKA_OPTS" >> {log}\n'
                        f"printf '%s\\n' '{answer}'\nexit {exit_code}\n")  # fmt: skip
    stand_in.chmod(0o755)
    probe = probe.replace(tool, str(stand_in))  # an absolute tool path in the probe points at the stand-in
    result = subprocess.run([shutil.which("sh"), "-c", probe], env={"PATH": f"{tools}:{os.environ['PATH']}", **env},
                            capture_output=True, text=True, timeout=30, check=False)  # fmt: skip
    return result.returncode, log.read_text() if log.exists() else ""


@pytest.fixture(scope="module")
def containers():
    return run_program().containers


@pytest.mark.parametrize(("service", "port", "path"), [
    ("clickhouse", CLICKHOUSE_HTTP_PORT, "/ping"), ("grafana", GRAFANA_HTTP_PORT, "/api/health"),
    ("kafka-ui", UI_PORT, "/actuator/health"),
])  # fmt: skip
def test_http_probes_ask_the_port_the_service_listens_on(containers, tmp_path: Path, service: str, port: int,
                                                          path: str) -> None:  # fmt: skip
    probe = probe_of(containers[service])
    healthy, calls = run_probe(tmp_path, probe, "wget", "ok", 0, {})
    assert healthy == 0 and calls.startswith(f"-q -O /dev/null http://localhost:{port}{path}")
    unhealthy, _ = run_probe(tmp_path, probe, "wget", "", 1, {})
    assert unhealthy != 0


def test_zookeeper_probe_needs_a_serving_answer(containers, tmp_path: Path) -> None:
    probe = probe_of(containers["zookeeper"])
    serving, calls = run_probe(tmp_path, probe, "nc", "Mode: standalone", 0, {})
    assert serving == 0 and calls.startswith(f"-w 2 localhost {CLIENT_PORT}")
    not_serving, _ = run_probe(tmp_path, probe, "nc", "This ZooKeeper instance is not currently serving", 0, {})
    assert not_serving != 0


def test_kafka_probe_runs_its_jvm_with_its_own_heap_not_the_brokers(containers, tmp_path: Path) -> None:
    broker = containers["kafka-1"]
    env = dict(line.split("=", 1) for line in unwrap(broker.inputs["envs"]))
    tool = "/usr/bin/kafka-broker-api-versions"
    healthy, calls = run_probe(tmp_path, probe_of(broker), tool, "", 0, env)  # the container's environment
    assert healthy == 0
    assert calls.strip() == f"--bootstrap-server localhost:9092 HEAP=-Xmx{PROBE_HEAP_MB}m OPTS="
    assert env["KAFKA_HEAP_OPTS"] != f"-Xmx{PROBE_HEAP_MB}m"  # the broker's own stays as it is
    unhealthy, _ = run_probe(tmp_path, probe_of(broker), tool, "", 1, env)
    assert unhealthy != 0
