"""What a schema spec accepts: each bad value is named, with what is accepted, before any DDL is rendered (the
schema's provider shows these sentences as its check failures)."""

from __future__ import annotations

from typing import Any

import pytest

from core.contract import ReportShape
from core.generator_config import MAX_DECIMALS, MAX_LEVELS
from ddl.spec import SchemaSpec, validate


def test_the_default_spec_is_valid() -> None:
    assert validate(SchemaSpec()) == []


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"consumer_group": "clickhouse metrics"}, "consumer_group 'clickhouse metrics' is not accepted: expected "),
        ({"reader_user": "1reader"}, "reader_user '1reader' is not accepted: expected "),
        ({"rollup_view": "metrics-1m"}, "table rollup_view 'metrics-1m' is not accepted: expected "),
    ],
)
def test_a_bad_name_is_named_by_what_it_names(changes: dict[str, Any], problem: str) -> None:
    (found,) = validate(SchemaSpec(**changes))
    assert found.startswith(problem) and "letters, digits and _" in found


@pytest.mark.parametrize(
    ("shape", "problem"),
    [
        (ReportShape(bid_size=0), f"bid levels 0 not accepted: expected 1 to {MAX_LEVELS}"),
        (ReportShape(ask_size=MAX_LEVELS + 1), f"ask levels {MAX_LEVELS + 1} not accepted: expected 1 to {MAX_LEVELS}"),
    ],
)
def test_a_side_with_too_few_or_too_many_levels_is_named(shape: ReportShape, problem: str) -> None:
    assert validate(SchemaSpec(shape=shape)) == [problem]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"shape": ReportShape(random_decimal=MAX_DECIMALS + 1)},
         f"decimals {MAX_DECIMALS + 1} not accepted: expected 0 to {MAX_DECIMALS}"),
        ({"topic": "."}, "topic '.' not accepted: expected "),
        ({"topic": ".."}, "topic '..' not accepted: expected "),
        ({"topic": "metrics raw"}, "topic 'metrics raw' not accepted: expected "),
        ({"broker_list": "kafka:9092;b:9092"}, "broker list 'kafka:9092;b:9092' not accepted: expected "),
    ],
)  # fmt: skip
def test_a_bad_value_is_named_with_what_is_accepted(changes: dict[str, Any], problem: str) -> None:
    (found,) = validate(SchemaSpec(**changes))
    assert found.startswith(problem)


def test_topics_and_brokers_kafka_accepts_are_accepted() -> None:
    """Topics of dots and dashes, host names in capitals, IPv6 brokers in brackets."""
    spec = SchemaSpec(topic="prices.v2_raw-1", broker_list="Kafka-1.example:9092,[::1]:9093")
    assert validate(spec) == []
