"""Generator configuration from environment variables, validated up front.

Every variable is described once in `SETTINGS`; parsing, validation, `--help` and the table in
docs/generator.md all follow it. Bad values raise `ConfigError`, which names every one of them, a line each:
the lines the CLI prints before exiting with code 2.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import rules
from core.contract import DEFAULT_TOPIC, LEVEL_PRICE_STEP, ReportShape

MAX_LEVELS = 1000
MAX_DECIMALS = 6
COMPRESSIONS = ("lz4", "gzip", "none")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
CLIENT_LOG_LEVELS = (*LOG_LEVELS, "CRITICAL")
TOPIC_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,249}")
# the Kafka client refuses a delivery timeout below linger + request timeout; a request gets at least this long
MIN_REQUEST_TIMEOUT_MS = 1000
MAX_KAFKA_MS = 2**31 - 1  # Kafka's timeouts are 32-bit signed integers of milliseconds
# The slowest pace: the container's health check wants a delivered report within three progress intervals
# (infra/data_generator.py), so a report at least every 10 s keeps a healthy generator healthy.
MAX_INTERVAL_S = 10.0
MAX_WAIT_S = 3600.0  # progress and shutdown waits: an hour is already far beyond any use
MAX_SEED = 2**32 - 1
HOST_PORT_PATTERN = re.compile(r"(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(?P<port>[0-9]{1,5})")


class ConfigError(ValueError):
    """Configuration values that are not accepted: `problems` has a one-line explanation of each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class GeneratorConfig:
    shape: ReportShape = field(default_factory=ReportShape)
    interval_s: float = 0.1
    bootstrap_servers: tuple[str, ...] = ("kafka:9092",)
    topic: str = DEFAULT_TOPIC
    compression: str = "lz4"
    linger_ms: int = 20
    batch_bytes: int = 262_144
    max_buffered_reports: int = 20_000
    delivery_timeout_ms: int = 120_000
    seed: int | None = None
    progress_interval_s: float = 10.0
    shutdown_timeout_s: float = 10.0
    log_level: str = "INFO"
    client_log_level: str = "CRITICAL"
    heartbeat_file: str = ""


@dataclass(frozen=True)
class Setting:
    """One environment variable: where it goes, its default and what it accepts."""

    env: str
    field: str
    default: str
    accepted: str
    parse: Callable[[str], Any]  # raises ValueError for a value outside `accepted`
    description: str


def _integer(env: str, field: str, default: str, low: int, high: int, description: str) -> Setting:
    rule = rules.integer(low, high)
    return Setting(env, field, default, rule.accepted, rule.parse, description)


def _number(env: str, field: str, default: str, low: float, high: float, description: str) -> Setting:
    rule = rules.number(low, high)
    return Setting(env, field, default, rule.accepted, rule.parse, description)


def _choice(env: str, field: str, default: str, options: tuple[str, ...], description: str) -> Setting:
    rule = rules.choice(options)
    return Setting(env, field, default, rule.accepted, rule.parse, description)


def _bootstrap_servers(raw: str) -> tuple[str, ...]:
    servers = tuple(part.strip() for part in raw.split(","))
    for server in servers:
        match = HOST_PORT_PATTERN.fullmatch(server)
        if not match or not 1 <= int(match["port"]) <= 65535:
            raise ValueError  # the caller names the key, the value and what is accepted
    return servers


def _topic(raw: str) -> str:
    if not TOPIC_PATTERN.fullmatch(raw) or raw in (".", ".."):
        raise ValueError
    return raw


def _heartbeat_path(raw: str) -> str:
    if raw and not (raw.startswith("/") and Path(raw).parent.is_dir()):
        raise ValueError
    return raw


SHAPE_FIELDS = ("bid_size", "ask_size", "random_start", "random_decimal")

# fmt: off
SETTINGS: tuple[Setting, ...] = (
    _integer("BID_SIZE", "bid_size", "50", 1, MAX_LEVELS, "bid levels per report"),
    _integer("ASK_SIZE", "ask_size", "50", 1, MAX_LEVELS, "ask levels per report"),
    Setting("RANDOM_START", "random_start", "1", rules.number(0, LEVEL_PRICE_STEP).accepted,
            rules.number(0, LEVEL_PRICE_STEP).parse, "lowest price drawn (level i draws up to 10*i)"),
    _integer("RANDOM_DECIMAL", "random_decimal", "1", 0, MAX_DECIMALS, "decimals of every price"),
    _number("CREATE_REPORT_INTERVAL", "interval_s", "0.1", 0, MAX_INTERVAL_S,
            "seconds between reports; 0 = as fast as possible"),
    Setting("KAFKA_BOOTSTRAP_SERVERS", "bootstrap_servers", "kafka:9092",
            "a comma-separated list of host:port (port 1-65535)", _bootstrap_servers, "brokers to bootstrap from"),
    Setting("KAFKA_TOPIC", "topic", DEFAULT_TOPIC, "1-249 characters of A-Z a-z 0-9 . _ - (not '.' or '..')",
            _topic, "topic the reports are written to"),
    _choice("KAFKA_COMPRESSION", "compression", "lz4", COMPRESSIONS, "compression of each batch"),
    _integer("KAFKA_LINGER_MS", "linger_ms", "20", 0, 60_000, "how long a batch waits to fill"),
    _integer("KAFKA_BATCH_BYTES", "batch_bytes", "262144", 1024, 16_777_216, "largest batch per partition"),
    _integer("MAX_BUFFERED_REPORTS", "max_buffered_reports", "20000", 1, 10_000_000,
             "reports sent but not yet acknowledged; at the limit generation waits (back-pressure)"),
    Setting("KAFKA_DELIVERY_TIMEOUT_MS", "delivery_timeout_ms", "120000",
            f"an integer from KAFKA_LINGER_MS + {MIN_REQUEST_TIMEOUT_MS} to {MAX_KAFKA_MS}",
            rules.integer(MIN_REQUEST_TIMEOUT_MS, MAX_KAFKA_MS).parse,
            "how long a report is retried before it counts as failed"),
    _integer("RANDOM_SEED", "seed", "", 0, MAX_SEED, "seed for reproducible prices; empty = random"),
    _number("PROGRESS_INTERVAL", "progress_interval_s", "10", 0.1, MAX_WAIT_S, "seconds between progress log lines"),
    _number("SHUTDOWN_TIMEOUT", "shutdown_timeout_s", "10", 0, MAX_WAIT_S,
            "seconds to flush outstanding reports on stop"),
    _choice("LOG_LEVEL", "log_level", "INFO", LOG_LEVELS, "logging level"),
    _choice("CLIENT_LOG_LEVEL", "client_log_level", "CRITICAL", CLIENT_LOG_LEVELS,
            "logging level of the Kafka client itself; CRITICAL keeps its per-reconnect lines out of the log"),
    Setting("HEARTBEAT_FILE", "heartbeat_file", "", "empty, or an absolute path in an existing directory",
            _heartbeat_path,
            "touched at each progress line if reports were delivered since the last; empty = none"),
)
# fmt: on


def load_config(environ: Mapping[str, str]) -> GeneratorConfig:
    """Build the configuration from `environ`; unset or empty variables take their default. Every bad value is
    named in the one `ConfigError`, not only the first."""
    values: dict[str, Any] = {}
    problems = []
    for setting in SETTINGS:
        raw = environ.get(setting.env, "")
        if raw == "" and setting.default == "":
            continue
        try:
            values[setting.field] = setting.parse(raw if raw != "" else setting.default)
        except ValueError:
            problems.append(f"{setting.env}={raw!r} is not accepted: expected {setting.accepted}")
    if problems:
        raise ConfigError(problems)
    shape = ReportShape(**{name: values.pop(name) for name in SHAPE_FIELDS})
    config = GeneratorConfig(shape=shape, **values)
    if config.delivery_timeout_ms < config.linger_ms + MIN_REQUEST_TIMEOUT_MS:
        raise ConfigError(
            [
                f"KAFKA_DELIVERY_TIMEOUT_MS='{config.delivery_timeout_ms}' is not accepted with "
                f"KAFKA_LINGER_MS={config.linger_ms}: expected an integer >= KAFKA_LINGER_MS + {MIN_REQUEST_TIMEOUT_MS}"
            ]
        )
    return config


def environment_help() -> str:
    """The variables as `--help` lists them: name, default and what is accepted, from `SETTINGS`."""
    width = max(len(setting.env) for setting in SETTINGS)
    lines = ["environment variables (unset or empty = the default; docs/generator.md says what each does):"]
    for setting in SETTINGS:
        default = setting.default or "(unset)"
        lines.append(f"  {setting.env:<{width}}  default {default}; accepted: {setting.accepted}")
    return "\n".join(lines)


def environment_for(config: GeneratorConfig) -> dict[str, str]:
    """The environment variables that reproduce `config` (used to configure the container)."""
    merged = {**{name: getattr(config.shape, name) for name in SHAPE_FIELDS}, **vars(config)}
    environment = {}
    for setting in SETTINGS:
        value = merged[setting.field]
        if value is None:
            continue
        environment[setting.env] = ",".join(value) if isinstance(value, tuple) else str(value)
    return environment
