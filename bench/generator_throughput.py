"""Generator throughput against a local tansu broker, three ways side by side in one run.

- generator: `produce()` at full speed with its default producer settings;
- seed pattern: the original service's way — per report build it, send(), wait on
  the future, flush() — with the client's default settings, as the original had;
- raw client: a KafkaProducer with the generator's settings sending pre-built
  reports (the client library's ceiling for this payload).
"""

from __future__ import annotations

import dataclasses
import json
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

from kafka import KafkaProducer

from generator.__main__ import produce
from generator.config import GeneratorConfig
from generator.report import ReportFactory
from generator.sinks import KafkaSink
from tests.support.broker import TansuBroker

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
            generator_rates, raw_rates = [], []
            for round_ in range(ROUNDS):
                generator_rates.append(measure_generator(dataclasses.replace(config, topic=f"bench-gen-{round_}")))
                raw_rates.append(measure_raw_client(dataclasses.replace(config, topic=f"bench-raw-{round_}")))
            seed = measure_seed_pattern(broker.bootstrap, "bench-seed")
            generator, raw = statistics.median(generator_rates), statistics.median(raw_rates)
        finally:
            broker.stop()
    return (
        f"bench: generator reports_per_s={generator:.0f} seed_pattern_per_s={seed:.0f} raw_client_per_s={raw:.0f} "
        f"ratio_vs_seed={generator / seed:.1f} ratio_vs_raw={generator / raw:.2f}"
    )
