"""Each rule does what its words say: every generator variable and every config key, rebuilt from source, accepts
the values its `accepted` text promises (what the docs and the one-line errors show) and refuses the others."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from core.generator_config import SETTINGS as GENERATOR_SETTINGS
from infra.settings import KEYS
from testbed.modules import rebuilt

NUMBER = r"-?\d+(?:\.\d+)?"
IMAGE_DIGEST = "sha256:" + "0" * 64

# Rules whose words name no numbers: what each must accept and refuse, written out.
WORDED: dict[str, tuple[list[str], list[str]]] = {
    "true or false": (["true", "false", " TRUE "], ["yes", "1", ""]),
    "an IPv4 address": (["127.0.0.1", "0.0.0.0", " 10.1.2.3 "], ["localhost", "::1", "256.0.0.1", ""]),
    "0 (derive from the stack name) or 1024-65535": (["0", "1024", "65535"], ["1023", "65536", "-1", "x"]),
    "an image by digest (repo:tag@sha256:…, preferred: make pin) or by a full version tag (repo:x.y.z…), "
    "not a moving tag (latest, main, a major-only :12)": (
        [
            "zookeeper:3.9.4",
            "ghcr.io/kafbat/kafka-ui:v1.5.0",
            f"repo@{IMAGE_DIGEST}",
            f"repo:1.2.3@{IMAGE_DIGEST}",
            "localhost:5000/repo:1.2.3",
        ],
        [
            "zookeeper",
            "zookeeper:latest",
            "Repo:1.2.3",
            "repo:",
            "localhost:5000/repo",
            f"repo@{IMAGE_DIGEST[:-1]}",
            "grafana/grafana:main",
            "grafana/grafana:12",
            "grafana/grafana:latest-ubuntu",
            "localhost:5000/repo:1",
        ],
    ),
    "plugin-id@x.y.z": (["grafana-clickhouse-datasource@4.20.0"], ["grafana-clickhouse-datasource", "p@4.20"]),
    "empty, or an http(s):// URL": (["", "https://example.com/hook", "http://h:8080"], ["ftp://h", "https://"]),
    "1-249 characters of A-Z a-z 0-9 . _ - (not '.' or '..')": (
        ["metrics_raw", "a.b-c", "t" * 249],
        [".", "..", "t" * 250, "has space", ""],
    ),
    "a comma-separated list of host:port (port 1-65535)": (
        ["kafka:9092", "a:1,b:65535", "[::1]:9092"],
        ["kafka", "kafka:0", "kafka:65536", ",", ""],
    ),
    "empty, or an absolute path in an existing directory": (["", "/tmp/heartbeat"], ["relative", "/no/such/dir/x"]),
    "a number > 0, at most 10000": (["0.001", "9.9", "10000"], ["0", "-1", "10000.01", "inf", "nan", "x"]),
    # platform: kubernetes
    "empty, or a kubeconfig context name": (["", "kind-dev", "arn:aws:eks:eu-west-1:1:cluster/x"], ["has space", " "]),
    "empty, or a DNS-1123 label (a-z, 0-9, '-', at most 63)": (
        ["", "team-a", "a" * 63],
        ["Team", "a_b", "-a", "a-", "a" * 64],
    ),
    "organization/project/stack": (
        ["organization/pipelining-data-platform/platform", "acme/p/prod"],
        ["platform", "a/b", "a/b/c/d", ""],
    ),
    "empty, or a storage class name": (["", "standard", "fast-ssd.example"], ["Fast", "a b", "-x"]),
    "empty, or a registry host[:port][/path]": (
        ["", "ghcr.io/you", "localhost:5000", "registry.example.com:5000/team/sub"],
        ["https://ghcr.io", "GHCR.io", "ghcr.io/"],
    ),
    "empty, or comma-separated CIDRs": (
        ["", "203.0.113.0/24", "10.0.0.0/8,192.168.1.1/32", "2001:db8::/32"],
        ["everyone", "10.0.0.0/33", "10.0.0.0/8,", "300.1.1.1/8"],
    ),
}


def probes(accepted: str) -> tuple[list[str], list[str]]:
    """Values `accepted` promises to accept and values it rules out."""
    if accepted in WORDED:
        return WORDED[accepted]
    if match := re.fullmatch(rf"an integer from ({NUMBER}) to ({NUMBER})", accepted):
        low, high = int(match[1]), int(match[2])
        return [str(low), str(high), f" {low} "], [str(low - 1), str(high + 1), "1.5", "x", ""]
    if match := re.fullmatch(rf"an integer >= ({NUMBER})", accepted):
        low = int(match[1])
        return [str(low), str(low + 10**9)], [str(low - 1), "x", ""]
    if match := re.fullmatch(rf"a number from ({NUMBER}) to ({NUMBER})", accepted):
        low, high = float(match[1]), float(match[2])
        return [str(low), str(high), str((low + high) / 2)], [str(low - 0.01), str(high + 0.01), "nan", "x"]
    if match := re.fullmatch(rf"a number >= ({NUMBER})", accepted):
        low = float(match[1])
        return [str(low), str(low + 0.5), "1e6"], [str(low - 0.01), "inf", "nan", "x"]
    if match := re.fullmatch(r"one of (.+)", accepted):
        options = match[1].split(", ")
        return options, ["other", options[0] + "x", ""]
    raise AssertionError(f"no probes for the rule {accepted!r}: add them to WORDED")


def assert_rule_keeps_its_word(name: str, accepted: str, parse: Callable[[str], Any]) -> None:
    takes, refuses = probes(accepted)
    for raw in takes:
        try:
            parse(raw)
        except ValueError:
            pytest.fail(f"{name}={raw!r} refused, but the rule says: {accepted}")
    for raw in refuses:
        with pytest.raises(ValueError):
            parse(raw)
            pytest.fail(f"{name}={raw!r} accepted, but the rule says: {accepted}")


DEPENDENT = {"KAFKA_DELIVERY_TIMEOUT_MS"}  # its floor depends on another variable: tested through load_config
# The names come from the imported tables; each test rebuilds its table, so the code that builds it runs under
# the test (and under `make mutate`, where a mutant is switched on only after import).
VARIABLES = [setting.env for setting in GENERATOR_SETTINGS if setting.env not in DEPENDENT]
KEY_NAMES = [key.name for key in KEYS]


@pytest.mark.parametrize("env", VARIABLES)
def test_every_generator_variable_accepts_what_it_says_and_nothing_else(env: str) -> None:
    setting = next(s for s in rebuilt("core.generator_config").SETTINGS if s.env == env)
    assert_rule_keeps_its_word(setting.env, setting.accepted, setting.parse)
    if setting.default:
        setting.parse(setting.default)


@pytest.mark.parametrize("name", KEY_NAMES)
def test_every_config_key_accepts_what_it_says_and_nothing_else(name: str) -> None:
    key = rebuilt("infra.settings").KEYS_BY_NAME[name]
    assert_rule_keeps_its_word(key.name, key.accepted, key.parse)
    assert key.parse(str(key.default).lower() if isinstance(key.default, bool) else str(key.default)) == key.default


@pytest.mark.parametrize(
    ("linger", "delivery", "ok"),
    [("0", "1000", True), ("0", "999", False), ("500", "1500", True), ("500", "1499", False)],
)
def test_the_delivery_timeout_leaves_a_request_at_least_a_second(linger: str, delivery: str, ok: bool) -> None:
    environ = {"KAFKA_LINGER_MS": linger, "KAFKA_DELIVERY_TIMEOUT_MS": delivery}
    generator = rebuilt("core.generator_config")
    if ok:
        assert generator.load_config(environ).delivery_timeout_ms == int(delivery)
    else:
        with pytest.raises(generator.ConfigError, match=f"KAFKA_DELIVERY_TIMEOUT_MS='{delivery}' is not accepted"):
            generator.load_config(environ)


def test_shared_keys_follow_the_generators_rules() -> None:
    shared = {key.name: key for key in rebuilt("infra.settings").KEYS if "(generator " in key.description}
    assert set(shared) == {"bidLevels", "askLevels", "priceDecimals", "randomStart", "reportIntervalSeconds", "topic"}
    by_env = {setting.env: setting for setting in rebuilt("core.generator_config").SETTINGS}
    for key in shared.values():
        env = key.description.rsplit("(generator ", 1)[1].rstrip(")")
        assert key.accepted == by_env[env].accepted and key.default == by_env[env].parse(by_env[env].default)
