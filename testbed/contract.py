"""Checks that a message follows the wire format (`core/contract.py`; README, "The generator")."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_EVEN, Decimal

from core.contract import ACCOUNTING_FIELDS, LEVEL_PRICE_STEP, ReportShape


def parse_report(message: bytes) -> dict:
    """Decode with exact decimals, so values are checked as written on the wire."""
    return json.loads(message, parse_float=Decimal)


def expected_keys(shape: ReportShape) -> list[str]:
    return ["timestamp", *shape.level_names("bid"), *shape.level_names("ask"), "stats", *ACCOUNTING_FIELDS]


def assert_valid_report(message: bytes, shape: ReportShape) -> dict:
    report = parse_report(message)
    assert list(report) == expected_keys(shape)
    assert isinstance(report["timestamp"], Decimal) and report["timestamp"] > 1_600_000_000
    quantum = Decimal(1).scaleb(-shape.random_decimal)
    for side in ("bid", "ask"):
        values = [report[name] for name in shape.level_names(side)]
        for level, value in enumerate(values, start=1):
            assert Decimal(str(shape.random_start)) <= value <= level * LEVEL_PRICE_STEP, (side, level, value)
            assert value == value.quantize(quantum), f"{side}_{level}={value} has more than {quantum} precision"
        mean = (sum(values) / len(values)).quantize(quantum, rounding=ROUND_HALF_EVEN)
        assert report["stats"][("bid", "ask").index(side)] == mean, (side, report["stats"], mean)
    assert len(report["stats"]) == 2
    assert 0 < report["producer_id"] < 2**52 and report["sequence"] >= 1
    return report
