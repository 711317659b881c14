"""`python -m verify --stack NAME [--alert]` (what `make verify` runs): prove every hop of a deployed stack.

Reads the stack's outputs (`pulumi stack output --json --show-secrets`, or `--outputs FILE`), then checks
Kafka, ClickHouse and Grafana in order with the real clients, one line per check, and ends with the
measured figures. Exit 0 when every check passed, 1 when one failed, 2 for bad usage or no such stack.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from core.contract import ReportShape
from core.outputs import VERIFIED_OUTPUTS
from dashboards.alerts import EVALUATION_INTERVAL_S, pipeline_rules
from dashboards.market import DASHBOARD_UID
from ddl.spec import SchemaSpec
from verify.checks import Checks
from verify.clickhouse_hop import ClickHouseHop, HttpClickHouse, landing_bound_s, percentile
from verify.grafana_hop import GrafanaHop, basic_auth_get
from verify.kafka_hop import Canary, KafkaHop, canary_report, price_above

CANARIES = 10
CANARY_SPACING_S = 0.2
PULUMI_TIMEOUT_S = 120.0  # reading a stack's outputs or history (the backend may be remote)
ALERT_RULE = "mid price above threshold"
REQUIRED_OUTPUTS = VERIFIED_OUTPUTS  # the stack outputs make verify reads (core.outputs)


class UsageError(Exception):
    """Bad usage or no such stack: one line, exit 2."""


@dataclass
class Figures:
    first_row_s: float | None = None
    latencies_ms: list[float] | None = None
    alert_s: float | None = None

    def line(self, stack: str) -> str:
        latencies = self.latencies_ms or []
        p50 = _number(percentile(latencies, 0.5) if latencies else None, 0)
        p95 = _number(percentile(latencies, 0.95) if latencies else None, 0)
        return (
            f"verify: stack={stack} first_row_s={_number(self.first_row_s, 1)} "
            f"produce_to_queryable_ms_p50={p50} p95={p95} alert_s={_number(self.alert_s, 0)}"
        )


def _number(value: float | None, decimals: int) -> str:
    return "n/a" if value is None else f"{value:.{decimals}f}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m verify", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True, help="the stack to check")
    parser.add_argument(
        "--outputs",
        type=Path,
        metavar="FILE",
        help="a file holding the stack's outputs as JSON (pulumi stack output --json --show-secrets > FILE), "
        "instead of asking Pulumi",
    )
    parser.add_argument("--deployed-at", type=float, help="unix time of the last `up` (default: from Pulumi)")
    parser.add_argument("--alert", action="store_true", help="also drive the mid-price alert to pending/firing")
    return parser.parse_args(argv)


def stack_outputs(args: argparse.Namespace) -> dict[str, Any]:
    if args.outputs is not None:
        try:
            outputs = json.loads(args.outputs.read_text())
        except (OSError, ValueError) as error:
            raise UsageError(f"--outputs {args.outputs}: {error}") from None
    else:
        found = _pulumi("stack", "output", "--json", "--show-secrets", "--stack", args.stack)
        try:
            outputs = json.loads(found.stdout) if found.returncode == 0 else None
        except ValueError:
            outputs = None
        if not isinstance(outputs, dict):
            raise UsageError(f"no outputs for stack {args.stack!r}: {_last_line(found.stderr)}")
    platform = outputs.get("platform", "docker")
    if platform != "docker":
        raise UsageError(
            f"stack {args.stack!r} runs on platform {platform}: make verify checks Docker stacks only "
            "so far (a Kubernetes stack's live proof comes with its ClickHouse and Grafana; docs/kubernetes.md)"
        )
    missing = [key for key in REQUIRED_OUTPUTS if key not in outputs]
    if missing:
        raise UsageError(f"stack {args.stack!r} lacks outputs {missing}: run `make up STACK={args.stack}` first")
    return outputs


def last_update_started(stack: str) -> float | None:
    """When the stack's last `up` started, from `pulumi stack history`; None when Pulumi cannot say."""
    found = _pulumi("stack", "history", "--json", "--page-size", "1", "--stack", stack)
    try:
        return parse_time(json.loads(found.stdout)[0]["startTime"])
    except (ValueError, LookupError, TypeError):
        return None


def parse_time(value: Any) -> float:
    """A Pulumi history time: unix seconds, or an ISO-8601 / RFC 3339 string."""
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value)).timestamp()  # Python >= 3.11 reads a trailing Z as UTC


def _pulumi(*args: str) -> subprocess.CompletedProcess[str]:
    # no terminal to answer from: a prompt (a passphrase, a login) fails at once instead of waiting unseen
    try:
        return subprocess.run(
            ["pulumi", *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=PULUMI_TIMEOUT_S,
            check=False,  # a failure is read from its exit code and stderr
        )
    except FileNotFoundError:
        raise UsageError("the Pulumi CLI is not on PATH") from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"`pulumi {' '.join(args[:2])}` did not answer within {PULUMI_TIMEOUT_S:g} s") from None


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def schema_spec(raw: Mapping[str, Any]) -> SchemaSpec:
    whole: dict[str, Any] = {
        key: int(v) if isinstance(v, float) and v.is_integer() else v for key, v in raw.items() if key != "shape"
    }
    return SchemaSpec(**whole, shape=ReportShape(**raw["shape"]))


def verify(outputs: Mapping[str, Any], stack: str, deployed_at: float | None, alert: bool, checks: Checks) -> Figures:
    spec, figures = schema_spec(outputs["schemaSpec"]), Figures()
    kafka = KafkaHop(outputs["kafkaBootstrapServers"])
    topic = outputs["kafkaTopic"]
    checks.run(
        "kafka",
        "topic as configured",
        lambda: kafka.check_topic(topic, int(outputs["kafkaTopicPartitions"]), int(outputs["kafkaReplicationFactor"])),
        f"make logs STACK={stack} SERVICE=kafka-1",
    )
    canaries: list[Canary] = []

    def produce() -> str:
        canaries.extend(kafka.produce(topic, [canary_report(spec.shape) for _ in range(CANARIES)], CANARY_SPACING_S))
        return f"{len(canaries)} canaries acknowledged (acks=all), key verify-canary"

    checks.run("kafka", "canaries produced", produce, f"make logs STACK={stack} SERVICE=kafka-1")
    _clickhouse(outputs, spec, stack, deployed_at, canaries, checks, figures)
    _grafana(outputs, spec, stack, alert, kafka, checks, figures)
    return figures


def _clickhouse(
    outputs: Mapping[str, Any],
    spec: SchemaSpec,
    stack: str,
    deployed_at: float | None,
    canaries: list[Canary],
    checks: Checks,
    figures: Figures,
) -> None:
    look = f"make logs STACK={stack} SERVICE=clickhouse"
    hops: dict[str, ClickHouseHop] = {}
    reader_user = outputs["clickhouseReaderUser"]

    def connect() -> str:
        # every ClickHouse check only reads: all run as Grafana's read-only user, never as the admin
        reader = HttpClickHouse(outputs["clickhouseUrl"], reader_user, outputs["clickhouseReaderPassword"])
        hops["reader"] = ClickHouseHop(reader, spec)
        return f"{outputs['clickhouseUrl']} as {reader_user}"

    if not checks.run("clickhouse", "answers", connect, look):
        return
    reader = hops["reader"]
    if canaries:

        def landed() -> str:
            figures.latencies_ms = reader.canaries_landed(canaries)
            return f"{len(canaries)} canary rows queryable (bound {landing_bound_s(spec):g} s)"

        checks.run("clickhouse", "canaries landed", landed, look)
        checks.run("clickhouse", "no canary dead-lettered", lambda: reader.no_dead_letters(canaries), look)
    else:
        checks.skip("clickhouse", "canaries landed", "no canary was produced")
    interval_s = float(outputs.get("reportIntervalSeconds", 0.1))
    checks.run(
        "clickhouse",
        "rows keep arriving",
        lambda: reader.rows_arriving(interval_s),
        f"make logs STACK={stack} SERVICE=generator",
    )
    checks.run("clickhouse", "Kafka consumers healthy", reader.consumers_healthy, look)
    threshold = float(outputs["midPriceThreshold"])
    checks.run(
        "clickhouse",
        f"{reader_user} runs every Grafana query",
        lambda: reader.every_grafana_query_runs(threshold),
        look,
    )
    checks.run("clickhouse", f"{reader_user} cannot lift its limits", reader.limits_hold, look)
    if deployed_at is not None:
        try:
            figures.first_row_s = reader.first_row_after(deployed_at)
        except Exception:  # a figure, not a check: the checks above already say what is wrong
            figures.first_row_s = None


def _grafana(
    outputs: Mapping[str, Any],
    spec: SchemaSpec,
    stack: str,
    alert: bool,
    kafka: KafkaHop,
    checks: Checks,
    figures: Figures,
) -> None:
    look = f"make logs STACK={stack} SERVICE=grafana"
    grafana = GrafanaHop(
        basic_auth_get(outputs["grafanaUrl"], outputs["grafanaAdminUser"], outputs["grafanaAdminPassword"])
    )
    if not checks.run("grafana", "healthy", grafana.healthy, look):
        return
    checks.run(
        "grafana",
        "datasource health check",
        lambda: grafana.datasource_healthy(outputs["grafanaDatasourceUid"]),
        f"make logs STACK={stack} SERVICE=clickhouse",
    )
    checks.run("grafana", "dashboard", lambda: grafana.dashboard_exists(DASHBOARD_UID), look)
    threshold = float(outputs["midPriceThreshold"])
    rules = pipeline_rules(spec, threshold, 5, stack)
    checks.run("grafana", "alert rules provisioned", lambda: grafana.rules_provisioned([r.uid for r in rules]), look)
    checks.run("grafana", "alert rules evaluated", lambda: grafana.rules_evaluated([r.name for r in rules]), look)
    if alert:
        price = price_above(threshold, spec.shape.random_decimal)

        def trigger() -> None:
            kafka.produce(outputs["kafkaTopic"], [canary_report(spec.shape, level_1=(price, price))])

        def alerting() -> str:
            timeout = 2 * EVALUATION_INTERVAL_S + 60 + landing_bound_s(spec)  # two evaluations, `for`, a flush
            figures.alert_s = grafana.until_alerting(ALERT_RULE, trigger, timeout)
            return f"{ALERT_RULE!r} pending or firing after {figures.alert_s:.0f} s (level-1 mid {price:g})"

        checks.run("grafana", "mid-price alert", alerting, look)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        outputs = stack_outputs(args)
        deployed_at = args.deployed_at
        if deployed_at is None and args.outputs is None:
            deployed_at = last_update_started(args.stack)
    except UsageError as error:
        print(f"verify: {error}", file=sys.stderr)
        return 2
    for library in ("kafka", "clickhouse_connect"):  # their own retry logs would drown the check lines
        logging.getLogger(library).setLevel(logging.CRITICAL)
    checks = Checks()
    figures = verify(outputs, args.stack, deployed_at, args.alert, checks)
    print(figures.line(args.stack))  # the last line: exiting flushes it
    return 0 if checks.passed else 1


if __name__ == "__main__":
    sys.exit(main())
