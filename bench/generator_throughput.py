"""Generator throughput against a local tansu broker, three ways side by side in one run.

- generator: `produce()` at full speed with its default producer settings;
- seed pattern: the original service's way — per report build it, send(), wait on
  the future, flush() — with the client's default settings, as the original had;
- raw client: a KafkaProducer with the generator's settings sending pre-built
  reports (the client library's ceiling for this payload);
- CLI: `python -m generator --count N` as users run it, its rate as it reports it on its `stopped` line
  (from its own start: the interpreter's start-up is not the generator's throughput).
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from kafka import KafkaProducer

from core.generator_config import GeneratorConfig
from generator.__main__ import produce
from generator.report import ReportFactory
from generator.sinks import KafkaSink
from testbed.broker import TansuBroker
from testbed.program import REPO_ROOT

REPORTS = 40_000
SEED_REPORTS = 2_000
ROUNDS = 3  # generator and raw client alternate; each reports its median


def _rate(count: int, started: float) -> float:
    return count / (time.perf_counter() - started)


def measure_generator(config: GeneratorConfig) -> float:
    stop = threading.Event()
    sink = KafkaSink(config, stop)
    started = time.perf_counter()
    produce(config, sink, REPORTS, stop)
    sink.close(timeout_s=60)
    assert sink.delivered == REPORTS, (sink.delivered, sink.failed)
    return _rate(REPORTS, started)


def measure_cli(config: GeneratorConfig) -> float:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "KAFKA_BOOTSTRAP_SERVERS": ",".join(config.bootstrap_servers),
        "KAFKA_TOPIC": config.topic,
        "CREATE_REPORT_INTERVAL": "0",
        "PROGRESS_INTERVAL": "3600",
    }
    result = subprocess.run([sys.executable, "-m", "generator", "--count", str(REPORTS)], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=300, check=True)  # fmt: skip
    stopped = re.search(r"stopped \(count reached\) rate_per_s=(\d+) .* delivered=(\d+)", result.stderr)
    assert stopped and int(stopped[2]) == REPORTS, result.stderr[-2000:]
    return float(stopped[1])


def original_report(bid_size: int = 50, ask_size: int = 50, start: float = 1, decimals: int = 1) -> dict:
    """The original service's report builder (Python random, one dict, json.dumps)."""
    bids = [round(random.uniform(start, level * 10), decimals) for level in range(1, bid_size + 1)]
    asks = [round(random.uniform(start, level * 10), decimals) for level in range(1, ask_size + 1)]
    report: dict = {"timestamp": time.time()}
    report.update({f"bid_{i}": v for i, v in enumerate(bids, 1)})
    report.update({f"ask_{i}": v for i, v in enumerate(asks, 1)})
    report["stats"] = [round(sum(bids) / bid_size, decimals), round(sum(asks) / ask_size, decimals)]
    return report


def measure_seed_pattern(bootstrap: str, topic: str) -> float:
    producer = KafkaProducer(bootstrap_servers=bootstrap, value_serializer=lambda r: json.dumps(r).encode())
    started = time.perf_counter()
    for _ in range(SEED_REPORTS):
        producer.send(topic, original_report()).get(timeout=30)
        producer.flush()
    rate = _rate(SEED_REPORTS, started)
    producer.close()
    return rate


def measure_raw_client(config: GeneratorConfig) -> float:
    payloads = ReportFactory(config.shape, seed=1).batch(REPORTS)  # distinct reports: compression sees real data
    producer = KafkaProducer(
        bootstrap_servers=list(config.bootstrap_servers),
        acks="all",
        enable_idempotence=True,
        compression_type=config.compression,
        linger_ms=config.linger_ms,
        batch_size=config.batch_bytes,
    )
    started = time.perf_counter()
    for payload in payloads:
        producer.send(config.topic, payload)
    producer.flush()
    rate = _rate(REPORTS, started)
    producer.close()
    return rate


def run() -> str:
    with tempfile.TemporaryDirectory() as scratch:
        broker = TansuBroker(Path(scratch) / "broker.log").start()
        try:
            config = GeneratorConfig(bootstrap_servers=(broker.bootstrap,), interval_s=0, progress_interval_s=3600)
            measure_raw_client(dataclasses.replace(config, topic="bench-warmup"))
            generator_rates, raw_rates, cli_rates = [], [], []
            for round_ in range(ROUNDS):
                generator_rates.append(measure_generator(dataclasses.replace(config, topic=f"bench-gen-{round_}")))
                raw_rates.append(measure_raw_client(dataclasses.replace(config, topic=f"bench-raw-{round_}")))
                cli_rates.append(measure_cli(dataclasses.replace(config, topic=f"bench-cli-{round_}")))
            seed = measure_seed_pattern(broker.bootstrap, "bench-seed")
            generator, raw = statistics.median(generator_rates), statistics.median(raw_rates)
            cli = statistics.median(cli_rates)
        finally:
            broker.stop()
    return (
        f"bench: generator reports_per_s={generator:.0f} seed_pattern_per_s={seed:.0f} raw_client_per_s={raw:.0f} "
        f"cli_reports_per_s={cli:.0f} ratio_vs_seed={generator / seed:.1f} ratio_vs_raw={generator / raw:.2f} "
        f"ratio_cli_vs_raw={cli / raw:.2f}"
    )
