"""`python -m generator`: produce reports until stopped, or `--count` of them."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

from generator.config import ConfigError, GeneratorConfig, load_config
from generator.report import ReportFactory
from generator.sinks import KafkaSink, Sink, StdoutSink, describe

log = logging.getLogger("generator")

MAX_BATCH = 256  # reports built per vectorised draw when running flat out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m generator", description=__doc__)
    parser.add_argument("--count", type=_positive_int, help="stop after N reports, flush and exit")
    parser.add_argument("--stdout", action="store_true", help="write JSON lines to stdout instead of Kafka")
    return parser.parse_args(argv)


def _positive_int(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise argparse.ArgumentTypeError(f"{raw!r} is not accepted: expected an integer >= 1")
    return int(raw)


def reports_due(interval_s: float, elapsed_s: float, made: int) -> int:
    """How many reports should exist by now, beyond the `made` ones (0 when ahead)."""
    if interval_s == 0:
        return MAX_BATCH
    return max(0, int(elapsed_s / interval_s) + 1 - made)


def produce(config: GeneratorConfig, sink: Sink, count: int | None, stop: threading.Event) -> None:
    """Generate at the configured pace and hand each report to `sink` until done or stopped."""
    factory = ReportFactory(config.shape, config.seed)
    started = time.monotonic()
    next_progress = started + config.progress_interval_s
    made = delivered_at_last_progress = 0
    while not stop.is_set() and (count is None or made < count):
        now = time.monotonic()
        due = min(reports_due(config.interval_s, now - started, made), MAX_BATCH)
        if count is not None:
            due = min(due, count - made)
        if due == 0:
            stop.wait(started + made * config.interval_s - now)
            continue
        for report in factory.batch(due):
            if stop.is_set() or not sink.send(report, stop):
                return
            made += 1
        if now >= next_progress:
            log.info("progress %s", describe(sink, started))
            next_progress = now + config.progress_interval_s
            if config.heartbeat_file and sink.delivered > delivered_at_last_progress:
                Path(config.heartbeat_file).touch()
            delivered_at_last_progress = sink.delivered


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = load_config(os.environ)
    except ConfigError as error:
        print(f"generator: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(config.client_log_level)  # it logs every reconnect attempt
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    started = time.monotonic()
    try:
        sink: Sink = StdoutSink() if args.stdout else KafkaSink(config, stop)
    except ConnectionAbortedError as aborted:
        log.info("stopped: %s", aborted)
        return 0
    try:
        produce(config, sink, args.count, stop)
        sink.close(config.shutdown_timeout_s)
    except BrokenPipeError:  # the reader of --stdout went away (e.g. `| head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    reason = "signal" if stop.is_set() else "count reached"
    undelivered = sink.produced - sink.delivered - sink.failed
    log.info("stopped (%s) %s undelivered=%d", reason, describe(sink, started), undelivered)
    return 0


if __name__ == "__main__":
    sys.exit(main())
