"""The wire format: one JSON object per report, as the original service sent.

`timestamp` (float unix seconds), `bid_1`..`bid_N`, `ask_1`..`ask_M` and
`stats = [bid_avg, ask_avg]`. A level value is
`round(uniform(random_start, level * 10), decimals)`; the averages are the exact
means of the rounded values, rounded half-to-even to the same decimals.

`ReportShape` is the single definition of that contract: the ClickHouse schema
and the dashboards derive their column names from it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import orjson

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


class ReportFactory:
    """Builds serialized reports in batches (vectorised draws, one JSON encode each)."""

    def __init__(self, shape: ReportShape, seed: int | None = None) -> None:
        self.shape = shape
        self._rng = np.random.default_rng(seed)
        self._keys = shape.price_names()
        upper = [level * LEVEL_PRICE_STEP for level in range(1, shape.bid_size + 1)]
        upper += [level * LEVEL_PRICE_STEP for level in range(1, shape.ask_size + 1)]
        self._upper = np.array(upper, dtype=np.float64)
        self._lower = np.full(len(upper), float(shape.random_start))
        self._scale = 10**shape.random_decimal

    def batch(self, count: int) -> list[bytes]:
        """Return `count` reports, each stamped with the time it was encoded."""
        bid_size, scale = self.shape.bid_size, self._scale
        draws = self._rng.uniform(self._lower, self._upper, size=(count, len(self._keys)))
        scaled = np.rint(draws * scale).astype(np.int64)  # exact integers: value * 10**decimals
        bid_avg = np.rint(scaled[:, :bid_size].sum(axis=1) / bid_size) / scale
        ask_avg = np.rint(scaled[:, bid_size:].sum(axis=1) / self.shape.ask_size) / scale
        rows = (scaled / scale).tolist()
        keys = self._keys
        reports = []
        for values, bid_mean, ask_mean in zip(rows, bid_avg.tolist(), ask_avg.tolist(), strict=True):
            report: dict = {"timestamp": time.time()}
            report.update(zip(keys, values, strict=True))
            report["stats"] = [bid_mean, ask_mean]
            reports.append(orjson.dumps(report))
        return reports
