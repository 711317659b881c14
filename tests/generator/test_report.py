from __future__ import annotations

import statistics

import pytest

from core.contract import ReportShape
from generator.report import ReportFactory
from testbed.contract import assert_valid_report, expected_keys, parse_report


@pytest.mark.parametrize(
    "shape",
    [
        ReportShape(),
        ReportShape(bid_size=3, ask_size=7),
        ReportShape(bid_size=1, ask_size=1, random_start=0, random_decimal=0),
        ReportShape(bid_size=20, ask_size=5, random_start=2.5, random_decimal=3),
    ],
    ids=["defaults", "3x7", "1x1-integers", "3-decimals"],
)
def test_reports_follow_the_contract(shape: ReportShape) -> None:
    for message in ReportFactory(shape, seed=7).batch(500):
        assert_valid_report(message, shape)


def test_key_names_follow_the_sizes() -> None:
    shape = ReportShape(bid_size=2, ask_size=3)
    report = parse_report(ReportFactory(shape).batch(1)[0])
    assert list(report) == ["timestamp", "bid_1", "bid_2", "ask_1", "ask_2", "ask_3", "stats", "producer_id",
                            "sequence"]  # fmt: skip
    assert expected_keys(ReportShape())[1:3] == ["bid_1", "bid_2"]
    assert len(expected_keys(ReportShape())) == 104  # timestamp, 50 bids, 50 asks, stats, producer_id, sequence


def test_sequence_numbers_have_no_gaps_and_a_run_has_one_producer_id() -> None:
    factory = ReportFactory(ReportShape(bid_size=1, ask_size=1))
    reports = [parse_report(m) for m in factory.batch(3) + factory.batch(250)]
    assert [r["sequence"] for r in reports] == list(range(1, 254))
    assert {r["producer_id"] for r in reports} == {factory.producer_id}
    restarted = ReportFactory(ReportShape(bid_size=1, ask_size=1))
    assert restarted.producer_id != factory.producer_id and parse_report(restarted.batch(1)[0])["sequence"] == 1


def _values(messages: list[bytes]) -> list[dict]:
    return [{k: v for k, v in parse_report(m).items() if k not in ("timestamp", "producer_id")} for m in messages]


def test_same_seed_same_prices_whatever_the_batching() -> None:
    shape = ReportShape()
    one_batch = ReportFactory(shape, seed=42).batch(10)
    factory = ReportFactory(shape, seed=42)
    split = factory.batch(3) + factory.batch(7)
    assert _values(one_batch) == _values(split)
    assert _values(ReportFactory(shape, seed=43).batch(10)) != _values(one_batch)


def test_prices_are_uniform_over_each_level_range() -> None:
    shape = ReportShape(bid_size=2, ask_size=2)
    reports = [parse_report(m) for m in ReportFactory(shape, seed=1).batch(20_000)]
    level_1 = [float(r["bid_1"]) for r in reports]
    level_2 = [float(r["ask_2"]) for r in reports]
    # uniform(1, 10) has mean 5.5 and sd 2.6; uniform(1, 20) has mean 10.5 and sd 5.5
    assert statistics.fmean(level_1) == pytest.approx(5.5, abs=0.1)
    assert statistics.fmean(level_2) == pytest.approx(10.5, abs=0.2)
    assert min(level_1) == 1.0 and max(level_1) == 10.0  # both ends are reachable after rounding
    assert len(set(level_1)) == 91  # every 1-decimal value in [1, 10]


def test_a_given_producer_id_is_kept_and_a_drawn_one_is_never_0(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ReportFactory(ReportShape(), producer_id=7).producer_id == 7
    monkeypatch.setattr("generator.report.secrets.randbits", lambda bits: 0)  # a draw of 0 reads as "no producer"
    assert ReportFactory(ReportShape()).producer_id == 1
