"""The wire contract: one JSON object per report, as the original service sent.

`timestamp` (float unix seconds), `bid_1`..`bid_N`, `ask_1`..`ask_M` and
`stats = [bid_avg, ask_avg]`, then two fields added for loss accounting (consumers written for the original
messages ignore them): `producer_id` (an integer drawn once per generator run, below 2**52 so JSON readers
in any language keep it exact) and `sequence` (1, 2, 3… per producer, without gaps: a missing number is a
lost report). A level value is
`round(uniform(random_start, level * 10), decimals)`; the averages are the exact
means of the rounded values, rounded half-to-even to the same decimals.

`ReportShape` is the single definition of that contract: the ClickHouse schema
and the dashboards derive their column names from it. This module imports
nothing beyond the standard library, so the Pulumi program can read it without
the generator's runtime dependencies (numpy, orjson).
"""

from __future__ import annotations

from dataclasses import dataclass

LEVEL_PRICE_STEP = 10  # level i draws from [random_start, i * LEVEL_PRICE_STEP]
SIDES = ("bid", "ask")


@dataclass(frozen=True)
class ReportShape:
    """How many levels each side has and how their prices are drawn."""

    bid_size: int = 50
    ask_size: int = 50
    random_start: float = 1.0
    random_decimal: int = 1

    def level_count(self, side: str) -> int:
        return {"bid": self.bid_size, "ask": self.ask_size}[side]

    def level_names(self, side: str) -> list[str]:
        return [level_name(side, level) for level in range(1, self.level_count(side) + 1)]

    def price_names(self) -> list[str]:
        """Every level's key, bids first, in wire order."""
        return [name for side in SIDES for name in self.level_names(side)]


def level_name(side: str, level: int) -> str:
    return f"{side}_{level}"


ACCOUNTING_FIELDS = ("producer_id", "sequence")
DEFAULT_TOPIC = "metrics_raw"
PRODUCER_ID_BITS = 52
