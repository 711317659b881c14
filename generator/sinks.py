"""Where reports go: a Kafka topic (asynchronous, bounded, counted) or stdout."""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from typing import Any, BinaryIO, Protocol

from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError

from core.generator_config import GeneratorConfig

log = logging.getLogger("generator")

BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 30.0
# How often a blocked wait re-checks the stop flag: a signal is acted on within this (plus a little), in every
# state — connecting, waiting for a topic's metadata, waiting for room in the buffer, pacing.
WAIT_SLICE_S = 0.1
BROKER_WAIT_MS = 5000  # one attempt to bootstrap (in a thread of its own, so a stop need not wait for it)
METADATA_WAIT_MS = 100  # one attempt to learn a topic's partitions inside `send`; asked again until stopped
WAITING_LOG_EVERY_S = 5.0  # while a topic's metadata does not come, say so this often, not at every attempt
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
        waiting_since = logged_at = None
        while True:
            try:
                future = self._producer.send(self._topic, report)
                break
            except KafkaTimeoutError as error:  # no metadata yet: the broker is unreachable, or no such topic
                now = time.monotonic()
                if waiting_since is None or logged_at is None:
                    waiting_since = logged_at = now
                    log.warning("waiting for topic %s: %s: %s", self._topic, type(error).__name__, error)
                elif now - logged_at >= WAITING_LOG_EVERY_S:
                    logged_at = now
                    log.warning("still waiting for topic %s after %.0fs", self._topic, now - waiting_since)
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
    """Create the producer, retrying with exponential backoff until a broker answers. Each attempt runs in a
    thread of its own: a stop is acted on within WAIT_SLICE_S, however long the attempt would still wait."""
    servers = ",".join(config.bootstrap_servers)
    backoff = BACKOFF_START_S
    while True:
        began = time.monotonic()
        producer = _attempt(config, stop)
        if producer is not None:
            return producer
        if stop.is_set():
            break
        log.warning(
            "no broker reachable at %s (this attempt waited %.1fs); next attempt in %.1fs, waiting up to %.1fs",
            servers,
            time.monotonic() - began,
            backoff,
            BROKER_WAIT_MS / 1000,
        )
        if stop.wait(backoff):
            break
        backoff = min(backoff * 2, BACKOFF_MAX_S)
    raise ConnectionAbortedError(f"before a broker answered at {servers}; nothing was produced")


def _attempt(config: GeneratorConfig, stop: threading.Event) -> KafkaProducer | None:
    """One bootstrap attempt: the producer, or None when no broker answered within BROKER_WAIT_MS or when
    stopped first (a producer the abandoned attempt makes after all is closed by it)."""
    outcome: queue.Queue[Any] = queue.Queue(maxsize=1)
    abandoned = threading.Event()
    lock = threading.Lock()

    def attempt() -> None:
        try:
            made: Any = KafkaProducer(**producer_settings(config))
        except KafkaTimeoutError:  # no bootstrap server answered
            made = None
        except Exception as error:  # anything else is the caller's to raise
            made = error
        with lock:
            if not abandoned.is_set():
                outcome.put(made)
                return
        if made is not None and not isinstance(made, Exception):
            made.close(timeout=0)

    threading.Thread(target=attempt, name="generator-bootstrap", daemon=True).start()
    while True:
        try:
            made = outcome.get(timeout=WAIT_SLICE_S)
            break
        except queue.Empty:
            if stop.is_set():
                with lock:
                    abandoned.set()
                    left = None if outcome.empty() else outcome.get_nowait()  # made just before the stop
                if left is not None and not isinstance(left, Exception):
                    left.close(timeout=0)
                return None
    if isinstance(made, Exception):
        raise made
    return made


def producer_settings(config: GeneratorConfig) -> dict[str, Any]:
    """What the producer is asked for: acks from every replica, idempotence, and the configured batching."""
    return {
        "bootstrap_servers": list(config.bootstrap_servers),
        "acks": "all",
        "enable_idempotence": True,
        "compression_type": None if config.compression == "none" else config.compression,
        "linger_ms": config.linger_ms,
        "batch_size": config.batch_bytes,
        "delivery_timeout_ms": config.delivery_timeout_ms,
        "request_timeout_ms": request_timeout_ms(config),
        "max_block_ms": METADATA_WAIT_MS,
        "bootstrap_timeout_ms": BROKER_WAIT_MS,
    }


def request_timeout_ms(config: GeneratorConfig) -> int:
    """How long one produce request may take: the client requires linger + this <= the delivery timeout."""
    return min(REQUEST_TIMEOUT_MS, config.delivery_timeout_ms - config.linger_ms)


def describe(sink: Sink, started: float) -> str:
    elapsed = max(time.monotonic() - started, 1e-9)
    return (
        f"rate_per_s={sink.delivered / elapsed:.0f} produced={sink.produced} "
        f"delivered={sink.delivered} failed={sink.failed} buffered={sink.produced - sink.delivered - sink.failed}"
    )
