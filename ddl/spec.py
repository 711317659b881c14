"""What the ClickHouse schema is made of: one `SchemaSpec`, its validation, the columns and types it implies.

Column names come from the generator's `ReportShape`, so the wire format, the tables and the dashboards
cannot drift apart. `ddl.render` turns a spec into DDL from the templates in `sql/`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.contract import DEFAULT_TOPIC, LEVEL_PRICE_STEP, SIDES, ReportShape
from core.generator_config import MAX_DECIMALS, MAX_LEVELS, TOPIC_PATTERN

NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
# Prices are stored with room for the largest shape the generator accepts, so adding levels never
# changes the type of an existing column.
PRICE_INTEGER_DIGITS = len(str(MAX_LEVELS * LEVEL_PRICE_STEP))
MAX_RETENTION_DAYS = 3650
MAX_CONSUMERS = 16  # ClickHouse's Kafka engine: at most one consumer per core, and per partition
PRICE_CODEC = "CODEC(T64, ZSTD(1))"


@dataclass(frozen=True)
class SchemaSpec:
    """Everything the schema depends on; built from the stack's settings."""

    shape: ReportShape = field(default_factory=ReportShape)
    database: str = "market"
    topic: str = DEFAULT_TOPIC
    consumer_group: str = "clickhouse_metrics"
    broker_list: str = "kafka:9092"
    consumers: int = 1
    flush_interval_ms: int = 1000
    retention_days: int = 30
    reader_user: str = "grafana_reader"
    queue: str = "metrics_queue"
    target: str = "metrics"
    target_view: str = "metrics_mv"
    dead_letter: str = "metrics_dead_letter"
    dead_letter_view: str = "metrics_dead_letter_mv"
    rollup: str = "metrics_1m"
    rollup_view: str = "metrics_1m_mv"

    @property
    def reader_profile(self) -> str:
        return f"{self.reader_user}_profile"

    @property
    def reader_quota(self) -> str:
        return f"{self.reader_user}_quota"

    @property
    def mid_levels(self) -> int:
        """Levels that have both a bid and an ask, hence a mid price."""
        return min(self.shape.bid_size, self.shape.ask_size)

    @property
    def mid_type(self) -> str:
        """A mid price: one more decimal than the prices, so the mean of two prices is exact."""
        return f"Decimal(18, {self.shape.random_decimal + 1})"

    @property
    def price_type(self) -> str:
        decimals = self.shape.random_decimal
        return f"Decimal({PRICE_INTEGER_DIGITS + decimals}, {decimals})"


ORDER_BY = "(timestamp, _partition, _offset)"
TARGET_ENGINE = "ReplacingMergeTree"


def validate(spec: SchemaSpec) -> list[str]:
    """Every problem with `spec`, one readable sentence each (empty when valid)."""
    problems = []
    names = {
        "database": spec.database,
        "consumer_group": spec.consumer_group,
        "reader_user": spec.reader_user,
        **{
            f"table {n}": getattr(spec, n)
            for n in ("queue", "target", "target_view", "dead_letter", "dead_letter_view", "rollup", "rollup_view")
        },
    }
    for what, name in names.items():
        if not NAME_PATTERN.fullmatch(name):
            problems.append(
                f"{what} {name!r} is not accepted: expected letters, digits and _, not starting with a digit"
            )
    for side in SIDES:
        if not 1 <= spec.shape.level_count(side) <= MAX_LEVELS:
            problems.append(f"{side} levels {spec.shape.level_count(side)} not accepted: expected 1 to {MAX_LEVELS}")
    if not 0 <= spec.shape.random_decimal <= MAX_DECIMALS:
        problems.append(f"decimals {spec.shape.random_decimal} not accepted: expected 0 to {MAX_DECIMALS}")
    if not 1 <= spec.retention_days <= MAX_RETENTION_DAYS:
        problems.append(f"retention {spec.retention_days} days not accepted: expected 1 to {MAX_RETENTION_DAYS}")
    if not 1 <= spec.consumers <= MAX_CONSUMERS:
        problems.append(f"kafka consumers {spec.consumers} not accepted: expected 1 to {MAX_CONSUMERS}")
    if not TOPIC_PATTERN.fullmatch(spec.topic) or spec.topic in (".", ".."):
        problems.append(f"topic {spec.topic!r} not accepted: expected 1-249 characters of A-Z a-z 0-9 . _ -")
    if not re.fullmatch(r"[A-Za-z0-9.:,\[\]-]+", spec.broker_list):
        problems.append(f"broker list {spec.broker_list!r} not accepted: expected host:port[,host:port…]")
    return problems


@dataclass(frozen=True)
class Column:
    """One column of the report's path through ClickHouse, declared once: its type on the wire (the Kafka
    table), its type in the target (with codec), and how the target's view computes it from the Kafka table.
    A column without a wire type comes from elsewhere (a Kafka virtual column, an element of `stats`); one
    without a stored type is read from the wire only."""

    name: str
    stored: str | None
    wire: str | None = None
    select: str | None = None  # the view's expression for it; None: the wire column of the same name

    def projection(self) -> str:
        return self.name if self.select is None else f"{self.select} AS {self.name}"


def report_columns(spec: SchemaSpec) -> list[Column]:
    """Every column of the report's path: the Kafka table's, the target view's and the target's, in order."""
    price = f"{spec.price_type} {PRICE_CODEC}"
    return [
        Column("timestamp", "DateTime64(3) CODEC(DoubleDelta, ZSTD(1))", "Float64", "toDateTime64(timestamp, 3)"),
        *[Column(name, price, spec.price_type) for name in spec.shape.price_names()],
        Column("stats", None, f"Array({spec.price_type})"),  # [bid_avg, ask_avg] on the wire
        Column("bid_avg", price, select="stats[1]"),
        Column("ask_avg", price, select="stats[2]"),
        Column("producer_id", "UInt64 CODEC(ZSTD(1))", "UInt64"),  # 0 for messages without it (older producers)
        Column("sequence", "UInt64 CODEC(Delta, ZSTD(1))", "UInt64"),
        Column("_partition", "UInt32 CODEC(T64, ZSTD(1))", select="_partition"),  # Kafka's virtual columns
        Column("_offset", "UInt64 CODEC(Delta, ZSTD(1))", select="_offset"),
        Column("_timestamp_ms", "DateTime64(3) CODEC(DoubleDelta, ZSTD(1))", select="ifNull(_timestamp_ms, now64(3))"),
    ]


def wire_columns(spec: SchemaSpec) -> list[tuple[str, str]]:
    """(name, type) of the Kafka table: the report as it is on the topic."""
    return [(column.name, column.wire) for column in report_columns(spec) if column.wire is not None]


def target_columns(spec: SchemaSpec) -> list[tuple[str, str]]:
    """(name, type with codec) of every column the target table stores, in order."""
    return [(column.name, column.stored) for column in report_columns(spec) if column.stored is not None]


def target_projection(spec: SchemaSpec) -> list[str]:
    """The target view's SELECT list: one expression per stored column, named like it."""
    return [column.projection() for column in report_columns(spec) if column.stored is not None]


ROLLUP_GRAIN_S = 60


def rollup_columns(spec: SchemaSpec) -> list[Column]:
    """The rollup's columns with the aggregate its view computes each from the target: per minute, what each
    panel aggregates, in forms a repeated delivery cannot change (min, max, the latest value, the set of Kafka
    positions) — and the raw delivery count.

    Per level it keeps the lowest and highest `bid + ask` (twice the mid price: exact, and half the work of
    the mid itself on every insert); the panels halve it with one more decimal, as `mid_price_sql` does."""
    decimals = spec.shape.random_decimal

    def simple(function: str, kind: str) -> str:
        return f"SimpleAggregateFunction({function}, {kind})"

    prices = f"Decimal(18, {decimals})"
    latest = f"AggregateFunction(argMax, {spec.price_type}, DateTime64(3))"
    columns = [
        Column("minute", "DateTime CODEC(DoubleDelta, ZSTD(1))", select="toStartOfMinute(timestamp)"),
        # every row the Kafka engine delivered, repeats included
        Column("deliveries", simple("sum", "UInt64"), select="count()"),
        # distinct (partition, offset): the reports
        Column("positions", "AggregateFunction(groupBitmap, UInt64)", select=f"groupBitmapState({POSITION_SQL})"),
    ]
    for level in range(1, spec.mid_levels + 1):
        twice_mid = f"bid_{level} + ask_{level}"
        columns += [
            Column(f"mid2_min_{level}", simple("min", prices), select=f"min({twice_mid})"),
            Column(f"mid2_max_{level}", simple("max", prices), select=f"max({twice_mid})"),
        ]
    return [
        *columns,
        Column("best_bid", simple("max", prices), select="max(bid_1)"),
        Column("best_ask", simple("min", prices), select="min(ask_1)"),
        Column("bid_avg_last", latest, select="argMaxState(bid_avg, timestamp)"),
        Column("ask_avg_last", latest, select="argMaxState(ask_avg, timestamp)"),
    ]


# A Kafka position as one number: the partition above the offset's 40 bits (a trillion messages a partition).
POSITION_SQL = "bitShiftLeft(toUInt64(_partition), 40) + _offset"


def mid_price_sql(level: int | str, decimals: int) -> str:
    """Exact mid price of a level: one more decimal than the prices, so 9.9 and 10.0 give 9.95.

    `level` may be a dashboard variable such as "${level}".
    """
    return f"(toDecimal64(bid_{level}, {decimals + 1}) + ask_{level}) / 2"


@dataclass(frozen=True)
class ReaderLimit:
    """One setting of the reader's profile. `lowest` set: the reader may change it between `lowest` and `value`
    (CHANGEABLE_IN_READONLY: the Grafana plugin sets it on every query); otherwise it is CONST."""

    setting: str
    value: int | str
    why: str
    lowest: int | None = None

    @property
    def clause(self) -> str:
        value = f"'{self.value}'" if isinstance(self.value, str) else str(self.value)
        if self.lowest is None:
            return f"{self.setting} = {value} CONST"
        return f"{self.setting} = {value} MIN {self.lowest} MAX {value} CHANGEABLE_IN_READONLY"


READER_QUERY_TIMEOUT_S = 60  # also the datasource's queryTimeout: the plugin sets max_execution_time from it
MIB = 1024 * 1024
# The reader's profile: readonly, and every limit a query can reach bounded. A Grafana viewer can send any SQL
# (the plugin runs what the panel says), including table functions such as numbers_mt that need no grant.
READER_LIMITS = (
    ReaderLimit("max_execution_time", READER_QUERY_TIMEOUT_S, "seconds a query may run", lowest=1),
    ReaderLimit("timeout_overflow_mode", "throw", "a query over time fails instead of returning part"),
    ReaderLimit("max_memory_usage", 512 * MIB, "bytes of memory one query may use"),
    ReaderLimit("max_rows_to_read", 100_000_000, "rows one query may read (30 days at 10 reports/s is 26 M)"),
    ReaderLimit("max_bytes_to_read", 20_000 * MIB, "bytes one query may read"),
    ReaderLimit("max_result_rows", 1_000_000, "rows one result may hold"),
    ReaderLimit("max_result_bytes", 256 * MIB, "bytes one result may hold"),
    ReaderLimit("max_threads", 2, "threads one query may use"),
    ReaderLimit("max_concurrent_queries_for_user", 16, "queries the reader may run at once"),
)
# The reader's quota, per minute (a dashboard refreshing every 5 s with its alert rules uses well under it).
READER_QUOTA_INTERVAL = "1 minute"
READER_QUOTA = (("queries", 1200), ("execution_time", 120), ("read_rows", 1_000_000_000))
