from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.contract import ReportShape
from core.generator_config import SETTINGS, ConfigError, GeneratorConfig, environment_for, load_config
from generator import __main__ as cli
from testbed.modules import rebuilt
from testbed.repo import REPO_ROOT


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
    ("CREATE_REPORT_INTERVAL", "-0.1", "a number from 0 to 10"),
    ("CREATE_REPORT_INTERVAL", "nan", "a number from 0 to 10"),
    ("CREATE_REPORT_INTERVAL", "soon", "a number from 0 to 10"),
    ("KAFKA_BOOTSTRAP_SERVERS", ",", "host:port"),
    ("KAFKA_BOOTSTRAP_SERVERS", "kafka", "host:port"),
    ("KAFKA_BOOTSTRAP_SERVERS", "kafka:99999", "host:port"),
    ("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092,", "host:port"),
    ("KAFKA_TOPIC", "has space", "1-249 characters"),
    ("KAFKA_TOPIC", "..", "1-249 characters"),
    ("KAFKA_TOPIC", "t" * 250, "1-249 characters"),
    ("KAFKA_COMPRESSION", "brotli", "one of lz4, gzip, none"),
    ("LOG_LEVEL", "loud", "one of DEBUG, INFO"),
    ("RANDOM_SEED", "-3", "an integer from 0 to 4294967295"),
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
    for setting in rebuilt("core.generator_config").SETTINGS:  # the table as its source builds it now
        default = f"`{setting.default}`" if setting.default else "(unset)"
        row = f"| `{setting.env}` | {default} | {setting.accepted} | {setting.description} |"
        assert row in readme, f"docs/generator.md lacks the row: {row}"


def test_the_environment_for_defaults_names_every_variable_but_an_unset_seed() -> None:
    assert list(environment_for(GeneratorConfig())) == [s.env for s in SETTINGS if s.env != "RANDOM_SEED"]


def run_cli(*args: str, env: dict[str, str], **run: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "generator", *args], check=False, cwd=REPO_ROOT, env=env,
                          text=True, timeout=60, **{"capture_output": True, **run})  # type: ignore[call-overload]  # fmt: skip


def test_every_bad_variable_is_named_at_once() -> None:
    result = run_cli("--stdout", env={"BID_SIZE": "x", "ASK_SIZE": "y", "KAFKA_TOPIC": ".."})
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "generator: BID_SIZE='x' is not accepted: expected an integer from 1 to 1000",
        "generator: ASK_SIZE='y' is not accepted: expected an integer from 1 to 1000",
        "generator: KAFKA_TOPIC='..' is not accepted: expected 1-249 characters of A-Z a-z 0-9 . _ - (not '.' or '..')",
    ]


def test_the_error_reads_as_one_line_per_bad_variable() -> None:
    """What a caller of `load_config` (or a traceback) shows: the same lines the CLI prints, nothing between."""
    with pytest.raises(ConfigError) as raised:
        load_config({"BID_SIZE": "x", "KAFKA_TOPIC": ".."})
    assert raised.value.problems[0].startswith("BID_SIZE='x' is not accepted")
    assert raised.value.problems[1].startswith("KAFKA_TOPIC='..' is not accepted")
    assert str(raised.value).splitlines() == raised.value.problems


def test_help_lists_every_variable_with_its_default_and_what_it_accepts(capsys: pytest.CaptureFixture[str]) -> None:
    """In process (mutmut's mutants reach no child process started with an environment of its own)."""
    with pytest.raises(SystemExit) as exited:
        cli.parse_args(["--help"])
    assert exited.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    (header,) = [line for line in lines if line.startswith("environment variables")]
    assert "unset or empty = the default" in header
    for setting in rebuilt("core.generator_config").SETTINGS:
        (line,) = [line for line in lines if line.split()[:1] == [setting.env]]
        assert f"default {setting.default or '(unset)'}; accepted: {setting.accepted}" in line, line


@pytest.mark.parametrize("heartbeat", ["/proc/heartbeat", "/tmp"], ids=["cannot-create", "a-directory"])
def test_a_heartbeat_file_that_cannot_be_written_is_refused_at_start(heartbeat: str) -> None:
    result = run_cli("--stdout", "--count", "3", env={"HEARTBEAT_FILE": heartbeat, "PROGRESS_INTERVAL": "0.1"})
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"generator: HEARTBEAT_FILE={heartbeat!r} is not accepted: cannot write it ("), line
    assert line.endswith("expected a file the generator can create or write")


def test_checking_the_heartbeat_file_at_start_does_not_make_it_look_fresh(tmp_path: Path) -> None:
    heartbeat = tmp_path / "heartbeat"
    result = run_cli("--stdout", "--count", "1", env={"HEARTBEAT_FILE": str(heartbeat)},
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, capture_output=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert not heartbeat.exists()  # nothing delivered by a progress line yet: the health check must say so


@pytest.mark.parametrize("count", ["1", "50"])
def test_stdout_that_cannot_be_written_is_one_line_and_exit_1(count: str) -> None:
    with open("/dev/full", "w") as full:
        result = run_cli("--stdout", "--count", count, env={"CREATE_REPORT_INTERVAL": "0"}, stdout=full,
                         stderr=subprocess.PIPE, capture_output=False)  # fmt: skip
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if " INFO generator: starting: " not in line]
    assert lines == ["generator: cannot write to stdout: No space left on device"], result.stderr
