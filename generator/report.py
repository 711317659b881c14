"""Builds serialized reports in the shape `core.contract.ReportShape` defines."""

from __future__ import annotations

import secrets
import time

import numpy as np
import orjson

from core.contract import LEVEL_PRICE_STEP, PRODUCER_ID_BITS, ReportShape


class ReportFactory:
    """Builds serialized reports in batches (vectorised draws, one JSON encode each)."""

    def __init__(self, shape: ReportShape, seed: int | None = None, producer_id: int | None = None) -> None:
        self.shape = shape
        # one identity per run (a restart is a new producer), and a sequence without gaps behind it
        self.producer_id = producer_id if producer_id is not None else secrets.randbits(PRODUCER_ID_BITS) or 1
        self.sequence = 0
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
            self.sequence += 1
            report["producer_id"] = self.producer_id
            report["sequence"] = self.sequence
            reports.append(orjson.dumps(report))
        return reports
