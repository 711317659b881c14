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

from core.generator_config import ConfigError, GeneratorConfig, environment_help, load_config
from generator.report import ReportFactory
from generator.sinks import KafkaSink, Sink, StdoutSink, describe

log = logging.getLogger("generator")

MAX_BATCH = 256  # reports built per vectorised draw when running flat out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m generator",
        description=__doc__,
        epilog=environment_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
    heartbeat_failing = False
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
                heartbeat_failing = not _touch(config.heartbeat_file, heartbeat_failing)
            delivered_at_last_progress = sink.delivered


def _touch(heartbeat: str, failing: bool) -> bool:
    """Touch the heartbeat file; True if it was. A failure is logged once (one line), and its end once too."""
    try:
        Path(heartbeat).touch()
    except OSError as error:
        if not failing:
            log.error("cannot touch HEARTBEAT_FILE %s: %s (the health check will report it stale)", heartbeat, error)
        return False
    if failing:
        log.info("HEARTBEAT_FILE %s is written again", heartbeat)
    return True


def heartbeat_problem(heartbeat: str) -> str | None:
    """Why the generator cannot write `heartbeat` (one line), or None. A file it creates here is removed again:
    a heartbeat that exists before any report was delivered would tell the health check a lie."""
    path = Path(heartbeat)
    existed = path.exists()
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT))  # no mode: a file made here is removed at once
        if not existed:
            path.unlink()
    except OSError as error:
        return (
            f"HEARTBEAT_FILE={heartbeat!r} is not accepted: cannot write it ({error.strerror}); "
            "expected a file the generator can create or write"
        )
    return None


def start_line(config: GeneratorConfig, to_stdout: bool, count: int | None) -> str:
    """What the run is about to do: where reports go and how fast."""
    where = (
        "JSON lines to stdout"
        if to_stdout
        else f"topic {config.topic} at bootstrap servers {','.join(config.bootstrap_servers)}"
    )
    pace = "as fast as possible" if config.interval_s == 0 else f"{1 / config.interval_s:g} reports/s"
    until = f", stopping after {count} report(s)" if count is not None else ", until stopped"
    return f"starting: {where}, {pace} (CREATE_REPORT_INTERVAL={config.interval_s:g}){until}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = load_config(os.environ)
    except ConfigError as error:
        for problem in error.problems:
            print(f"generator: {problem}", file=sys.stderr)
        return 2
    if config.heartbeat_file and (unwritable := heartbeat_problem(config.heartbeat_file)):
        print(f"generator: {unwritable}", file=sys.stderr)
        return 2
    logging.basicConfig(level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(config.client_log_level)  # it logs every reconnect attempt
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    log.info("%s", start_line(config, args.stdout, args.count))
    started = time.monotonic()
    try:
        sink: Sink = StdoutSink() if args.stdout else KafkaSink(config, stop)
    except ConnectionAbortedError as aborted:
        log.info("stopped (signal) %s", aborted)
        return 0
    try:
        produce(config, sink, args.count, stop)
        sink.close(config.shutdown_timeout_s)
    except BrokenPipeError:  # the reader of --stdout went away (e.g. `| head`)
        _discard_stdout()
        return 0
    except OSError as error:  # --stdout cannot be written (a full disk, /dev/full): one line, not a traceback
        if not args.stdout:
            raise
        _discard_stdout()
        print(f"generator: cannot write to stdout: {error.strerror or error}", file=sys.stderr)
        return 1
    reason = "signal" if stop.is_set() else "count reached"
    undelivered = sink.produced - sink.delivered - sink.failed
    log.info("stopped (%s) %s undelivered=%d", reason, describe(sink, started), undelivered)
    return 0


def _discard_stdout() -> None:
    """What is still buffered for stdout goes nowhere at exit, instead of failing again there."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
