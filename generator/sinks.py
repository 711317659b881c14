"""Where reports go: a Kafka topic (asynchronous, bounded, counted) or stdout."""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import BinaryIO, Protocol

from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError

from generator.config import GeneratorConfig

log = logging.getLogger("generator")

BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 30.0
WAIT_SLICE_S = 0.5  # how often a blocked wait re-checks the stop flag
BROKER_WAIT_MS = 5000  # one attempt to bootstrap or to get topic metadata; retried after
REQUEST_TIMEOUT_MS = 30_000  # the client's default, shortened when the delivery timeout leaves less


class Sink(Protocol):
    produced: int
    delivered: int
    failed: int

    def send(self, report: bytes, stop: threading.Event) -> bool: ...

    def close(self, timeout_s: float) -> None: ...


class StdoutSink:
    """JSON lines on stdout, for debugging and piping."""

    def __init__(self, stream: BinaryIO | None = None) -> None:
        self._stream = stream or sys.stdout.buffer
        self.produced = self.delivered = self.failed = 0

    def send(self, report: bytes, stop: threading.Event) -> bool:
        self._stream.write(report + b"\n")
        self.produced += 1
        self.delivered += 1
        return True

    def close(self, timeout_s: float) -> None:
        self._stream.flush()


class KafkaSink:
    """Asynchronous sends with delivery accounting and back-pressure.

    At most `max_buffered_reports` reports are sent but not yet acknowledged; at
    the limit `send` waits for acknowledgements instead of dropping or growing.
    The client retries an unreachable broker until the delivery timeout, after
    which a report counts as failed and is logged.
    """

    def __init__(self, config: GeneratorConfig, stop: threading.Event) -> None:
        self._topic = config.topic
        self._slots = threading.Semaphore(config.max_buffered_reports)
        self.produced = self.delivered = self.failed = 0
        self._producer = _connect(config, stop)

    def send(self, report: bytes, stop: threading.Event) -> bool:
        """Hand one report to the client; False when stopped before it could be."""
        while not self._slots.acquire(timeout=WAIT_SLICE_S):
            if stop.is_set():
                return False
        while True:
            try:
                future = self._producer.send(self._topic, report)
                break
            except KafkaTimeoutError as error:  # no metadata yet: the broker is unreachable
                log.warning("waiting for topic %s: %s", self._topic, error)
                if stop.is_set():
                    self._slots.release()
                    return False
        self.produced += 1
        future.add_callback(self._on_delivered)
        future.add_errback(self._on_failed)
        return True

    def buffered(self) -> int:
        return self.produced - self.delivered - self.failed

    def close(self, timeout_s: float) -> None:
        """Flush and close within `timeout_s`; what is still unacknowledged then is logged, not raised."""
        try:
            self._producer.close(timeout=timeout_s)  # flushes first, and raises if the flush times out
        except KafkaError as error:
            log.error("flush incomplete after %.1fs: %s (undelivered=%d)", timeout_s, error, self.buffered())

    def _on_delivered(self, _metadata: object) -> None:
        self.delivered += 1
        self._slots.release()

    def _on_failed(self, error: BaseException) -> None:
        self.failed += 1
        self._slots.release()
        log.error("report not delivered: %s (failed=%d)", error, self.failed)


def _connect(config: GeneratorConfig, stop: threading.Event) -> KafkaProducer:
    """Create the producer, retrying with exponential backoff until a broker answers."""
    backoff = BACKOFF_START_S
    while True:
        try:
            return KafkaProducer(
                bootstrap_servers=list(config.bootstrap_servers),
                acks="all",
                enable_idempotence=True,
                compression_type=None if config.compression == "none" else config.compression,
                linger_ms=config.linger_ms,
                batch_size=config.batch_bytes,
                delivery_timeout_ms=config.delivery_timeout_ms,
                request_timeout_ms=request_timeout_ms(config),
                max_block_ms=BROKER_WAIT_MS,
                bootstrap_timeout_ms=BROKER_WAIT_MS,
            )
        except KafkaTimeoutError:  # no bootstrap server answered
            log.warning("no broker reachable at %s; retrying in %.1fs", ",".join(config.bootstrap_servers), backoff)
        if stop.wait(backoff):
            raise ConnectionAbortedError("stopped before a broker was reachable")
        backoff = min(backoff * 2, BACKOFF_MAX_S)


def request_timeout_ms(config: GeneratorConfig) -> int:
    """How long one produce request may take: the client requires linger + this <= the delivery timeout."""
    return min(REQUEST_TIMEOUT_MS, config.delivery_timeout_ms - config.linger_ms)


def describe(sink: Sink, started: float) -> str:
    elapsed = max(time.monotonic() - started, 1e-9)
    return (
        f"rate_per_s={sink.delivered / elapsed:.0f} produced={sink.produced} "
        f"delivered={sink.delivered} failed={sink.failed} buffered={sink.produced - sink.delivered - sink.failed}"
    )
