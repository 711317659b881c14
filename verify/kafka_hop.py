"""The Kafka hop: the topic as configured, and canary reports produced with acks=all.

A canary is a report in the normal wire format (so the Kafka engine parses it like any other), sent with
the key `verify-canary` (visible in kafka-ui). Its timestamp is tagged: always `.999` past a whole second,
which the target keeps (`timestamp`, milliseconds), so canaries can be told apart from the generator's rows
(one in a thousand of those shares the tag: negligible in a count). A canary is found in ClickHouse by the
partition and offset the broker acknowledged (`_partition`, `_offset`) together with its timestamp, so a
row left at the same position by an earlier topic or cluster is never mistaken for it.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from kafka.errors import KafkaError, KafkaTimeoutError

from core.contract import LEVEL_PRICE_STEP, ReportShape
from verify.checks import Failed

CANARY_KEY = b"verify-canary"
ACK_TIMEOUT_S = 30
CLOSE_TIMEOUT_S = 5  # for the canaries still unacknowledged when one was not acknowledged in time
BOOTSTRAP_TIMEOUT_MS = 5000  # how long to look for a broker before the check fails


CANARY_MILLISECOND = 999


@dataclass(frozen=True)
class Canary:
    partition: int
    offset: int
    acked_at: float  # time.time() when the broker acknowledged it
    timestamp_ms: int  # the report's own timestamp, as the target stores it


def canary_timestamp(now: float) -> float:
    """`now`'s second plus 0.9995: stored as DateTime64(3) it ends in .999 however the float rounds."""
    return int(now) + (CANARY_MILLISECOND + 0.5) / 1000


def stored_ms(report: bytes) -> int:
    return int(json.loads(report)["timestamp"] * 1000)


def canary_report(shape: ReportShape, level_1: tuple[float, float] | None = None) -> bytes:
    """A valid report: every level in the middle of its range, or level 1 at `level_1` = (bid, ask)."""
    decimals = shape.random_decimal
    report: dict[str, object] = {"timestamp": canary_timestamp(time.time())}
    averages = []
    for side in ("bid", "ask"):
        prices = [
            round((shape.random_start + level * LEVEL_PRICE_STEP) / 2, decimals)
            for level in range(1, shape.level_count(side) + 1)
        ]
        if level_1 is not None:
            prices[0] = level_1[0 if side == "bid" else 1]
        report.update(zip(shape.level_names(side), prices, strict=True))
        averages.append(round(sum(prices) / len(prices), decimals))
    report["stats"] = averages
    return json.dumps(report).encode()


def price_above(threshold: float, decimals: int) -> float:
    """The smallest price with `decimals` decimals strictly above `threshold`."""
    scaled = Decimal(str(threshold)).scaleb(decimals)  # exact: 9.95 * 100 in binary floats is 994.99…
    return float((math.floor(scaled) + 1) / Decimal(10) ** decimals)


class KafkaHop:
    def __init__(self, bootstrap_servers: str) -> None:
        self._servers = bootstrap_servers.split(",")

    def _no_broker(self, error: KafkaError) -> Failed:
        """A client that found no broker, said like every other failed check: what was expected, what was seen
        (a KafkaError says its own type: `KafkaTimeoutError: Unable to bootstrap from [...]`)."""
        return Failed(
            f"a broker answering at {','.join(self._servers)} within {BOOTSTRAP_TIMEOUT_MS / 1000:g} s", f"{error}"
        )

    def check_topic(self, topic: str, partitions: int, replication: int) -> str:
        from kafka.admin import KafkaAdminClient  # noqa: PLC0415 -- imported on use, like the providers

        try:
            admin = KafkaAdminClient(bootstrap_servers=self._servers, bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS)
        except KafkaError as error:
            raise self._no_broker(error) from None
        try:
            if topic not in admin.list_topics():
                raise Failed(f"topic {topic}", "no such topic")
            (described,) = admin.describe_topics([topic])
        except KafkaError as error:
            raise Failed(f"topic {topic} described by the broker", f"{error}") from None
        finally:
            admin.close()
        found = (len(described["partitions"]), min(len(p["replica_nodes"]) for p in described["partitions"]))
        if found != (partitions, replication):
            raise Failed(
                f"{partitions} partitions with replication {replication}",
                f"{found[0]} partitions with replication {found[1]}",
            )
        return f"topic {topic}: {partitions} partitions, replication {replication}"

    def produce(self, topic: str, reports: Sequence[bytes], spacing_s: float = 0.0) -> list[Canary]:
        """Send each report with acks=all and wait for its acknowledgement."""
        from kafka import KafkaProducer  # noqa: PLC0415

        try:
            producer = KafkaProducer(
                bootstrap_servers=self._servers, acks="all", bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS
            )
        except KafkaError as error:
            raise self._no_broker(error) from None
        try:
            canaries = []
            for number, report in enumerate(reports, start=1):
                try:
                    sent = producer.send(topic, report, key=CANARY_KEY)
                except KafkaTimeoutError as error:  # no metadata for the topic in time
                    raise Failed(f"topic {topic}'s partitions known to a broker", f"{error}") from None
                try:
                    metadata = sent.get(timeout=ACK_TIMEOUT_S)
                except KafkaTimeoutError:
                    raise Failed(f"canary {number} acknowledged within {ACK_TIMEOUT_S:g} s", "no answer") from None
                canaries.append(Canary(metadata.partition, metadata.offset, time.time(), stored_ms(report)))
                time.sleep(spacing_s)
            return canaries
        finally:
            with contextlib.suppress(KafkaTimeoutError):  # the canaries not acknowledged: the failure says so
                producer.close(timeout=CLOSE_TIMEOUT_S)
