from __future__ import annotations

import subprocess
import sys

import pytest

from generator.config import SETTINGS, GeneratorConfig, environment_for, load_config
from generator.contract import ReportShape
from testbed.modules import rebuilt
from tests.conftest import REPO_ROOT


def test_defaults_are_the_original_ones() -> None:
    config = load_config({})
    assert config.shape == ReportShape(bid_size=50, ask_size=50, random_start=1, random_decimal=1)
    assert config.interval_s == 0.1
    assert config.bootstrap_servers == ("kafka:9092",)
    assert config.topic == "metrics_raw"
    assert config.compression == "lz4"
    assert config.seed is None


def test_values_are_read_from_the_environment() -> None:
    config = load_config(
        {
            "BID_SIZE": "3",
            "ASK_SIZE": " 1000 ",
            "RANDOM_DECIMAL": "6",
            "CREATE_REPORT_INTERVAL": "0",
            "KAFKA_BOOTSTRAP_SERVERS": "a:1,b.example:65535,[::1]:9092",
            "KAFKA_TOPIC": "prices.v2_raw-1",
            "RANDOM_SEED": "9",
        }
    )
    assert (config.shape.bid_size, config.shape.ask_size, config.shape.random_decimal) == (3, 1000, 6)
    assert config.interval_s == 0
    assert config.bootstrap_servers == ("a:1", "b.example:65535", "[::1]:9092")
    assert config.topic == "prices.v2_raw-1"
    assert config.seed == 9


def test_environment_round_trips() -> None:
    config = GeneratorConfig(shape=ReportShape(bid_size=4, random_decimal=3), topic="t", seed=5, interval_s=0)
    assert load_config(environment_for(config)) == config


BAD_VALUES = [
    ("BID_SIZE", "abc", "an integer from 1 to 1000"),
    ("BID_SIZE", "0", "an integer from 1 to 1000"),
    ("ASK_SIZE", "1001", "an integer from 1 to 1000"),
    ("ASK_SIZE", "2.5", "an integer from 1 to 1000"),
    ("RANDOM_DECIMAL", "7", "an integer from 0 to 6"),
    ("RANDOM_DECIMAL", "-1", "an integer from 0 to 6"),
    ("RANDOM_START", "x", "a number from 0 to 10"),
    ("RANDOM_START", "-1", "a number from 0 to 10"),
    ("CREATE_REPORT_INTERVAL", "-0.1", "a number >= 0"),
    ("CREATE_REPORT_INTERVAL", "nan", "a number >= 0"),
    ("CREATE_REPORT_INTERVAL", "soon", "a number >= 0"),
    ("KAFKA_BOOTSTRAP_SERVERS", ",", "host:port"),
    ("KAFKA_BOOTSTRAP_SERVERS", "kafka", "host:port"),
    ("KAFKA_BOOTSTRAP_SERVERS", "kafka:99999", "host:port"),
    ("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092,", "host:port"),
    ("KAFKA_TOPIC", "has space", "1-249 characters"),
    ("KAFKA_TOPIC", "..", "1-249 characters"),
    ("KAFKA_TOPIC", "t" * 250, "1-249 characters"),
    ("KAFKA_COMPRESSION", "brotli", "one of lz4, gzip, none"),
    ("LOG_LEVEL", "loud", "one of DEBUG, INFO"),
    ("RANDOM_SEED", "-3", "an integer >= 0"),
    ("HEARTBEAT_FILE", "relative/heartbeat", "an absolute path in an existing directory"),
    ("HEARTBEAT_FILE", "/no/such/directory/heartbeat", "an absolute path in an existing directory"),
    ("CLIENT_LOG_LEVEL", "chatty", "one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
]


@pytest.mark.parametrize(("variable", "value", "accepted"), BAD_VALUES, ids=[f"{v}={x[:12]}" for v, x, _ in BAD_VALUES])
def test_bad_value_exits_2_with_one_line(variable: str, value: str, accepted: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "generator", "--stdout", "--count", "1"],
        check=False,
        cwd=REPO_ROOT,
        env={variable: value},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"generator: {variable}={value!r} is not accepted: expected ")
    assert accepted in lines[0]


def test_readme_documents_every_variable() -> None:
    readme = (REPO_ROOT / "docs" / "generator.md").read_text()
    for setting in rebuilt("generator.config").SETTINGS:  # the table as its source builds it now
        default = f"`{setting.default}`" if setting.default else "(unset)"
        row = f"| `{setting.env}` | {default} | {setting.accepted} | {setting.description} |"
        assert row in readme, f"docs/generator.md lacks the row: {row}"


def test_the_environment_for_defaults_names_every_variable_but_an_unset_seed() -> None:
    assert list(environment_for(GeneratorConfig())) == [s.env for s in SETTINGS if s.env != "RANDOM_SEED"]
