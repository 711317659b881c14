"""`make verify` as a command: usage, outputs and history from Pulumi, one line per check, the figures, the exit
code, hops wired with what the outputs say."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from core.contract import ReportShape
from ddl.spec import SchemaSpec
from testbed.verify_support import Pipe, down_outputs, run_verify
from verify import __main__ as verify_main
from verify import checks as checks_module
from verify.__main__ import parse_time, schema_spec
from verify.checks import Checks
from verify.clickhouse_hop import percentile
from verify.kafka_hop import Canary


def test_figures_helpers() -> None:
    assert percentile([5.0], 0.95) == 5.0
    assert percentile([float(n) for n in range(1, 101)], 0.5) == pytest.approx(50.5)
    assert parse_time(1_800_000_000) == 1_800_000_000.0
    assert parse_time("2026-11-28T12:00:00Z") == parse_time("2026-11-28T12:00:00+00:00")
    # `pulumi stack history --json` writes RFC 5424 times (pkg/cmd/pulumi/cmd/time.go)
    assert parse_time("2026-11-28T12:00:00.250Z") == parse_time("2026-11-28T12:00:00Z") + 0.25
    spec = schema_spec({"database": "market", "consumers": 2.0, "shape": {"bid_size": 3}})
    assert spec.consumers == 2 and isinstance(spec.consumers, int) and spec.shape.bid_size == 3
    assert percentile([10.0, 20.0], 0.5) == 15.0 and percentile([10.0, 20.0], 0.95) == pytest.approx(19.5)
    assert percentile([float(n) for n in range(1, 101)], 0.95) == pytest.approx(95.05)
    assert verify_main._last_line("first\n\nlast one\n  \n") == "last one"
    assert verify_main._last_line(" \n") == "no output"


def test_bad_usage_and_missing_outputs_exit_2_with_one_line(tmp_path: Path, capsys) -> None:
    code, _, err = run_verify(capsys, "--stack", "dev", "--outputs", str(tmp_path / "none.json"))
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("verify: --outputs ")
    (tmp_path / "partial.json").write_text(json.dumps({"grafanaUrl": "http://127.0.0.1:1"}))
    code, _, err = run_verify(capsys, "--stack", "dev", "--outputs", str(tmp_path / "partial.json"))
    assert code == 2
    assert err.startswith(
        "verify: stack 'dev' lacks outputs ['grafanaAdminUser', 'grafanaAdminPassword', 'kafkaBootstrap"
    )
    assert "make up STACK=dev" in err
    with pytest.raises(SystemExit) as usage:
        verify_main.main([])  # --stack is required
    assert usage.value.code == 2


def test_a_stack_whose_services_are_all_down_fails_one_line_per_hop(tmp_path: Path, capsys, quick_to_give_up) -> None:
    (tmp_path / "outputs.json").write_text(json.dumps(down_outputs()))
    code, out, err = run_verify(capsys, "--stack", "down", "--outputs", str(tmp_path / "outputs.json"),
                                "--deployed-at", "0")  # fmt: skip
    assert code == 1
    assert "Traceback" not in out + err
    lines = out.splitlines()
    failed = [line.split(" (")[0] for line in lines if line.startswith("verify: FAIL")]
    assert failed == [
        "verify: FAIL kafka: topic as configured",
        "verify: FAIL kafka: canaries produced",
        "verify: FAIL clickhouse: answers",
        "verify: FAIL grafana: healthy",
    ]
    kafka = [line.split("): ", 1)[1] for line in lines if line.startswith("verify: FAIL kafka")]
    assert all(
        re.match(r"expected a broker answering at 127\.0\.0\.1:\d+ within [\d.]+ s, saw \w+", k) for k in kafka
    ), kafka
    services = [line.rsplit("; look further: make logs STACK=down SERVICE=", 1)[1] for line in lines if "FAIL" in line]
    assert services == ["kafka-1", "kafka-1", "clickhouse", "grafana"]  # where each failure's cause is logged
    assert lines[-1] == "verify: stack=down first_row_s=n/a produce_to_queryable_ms_p50=n/a p95=n/a alert_s=n/a"


def test_outputs_and_the_last_up_come_from_pulumi(
    pulumi_stand_in: Path, tmp_path: Path, monkeypatch, capsys, quick_to_give_up
) -> None:
    (tmp_path / "outputs.json").write_text(json.dumps(down_outputs()))
    monkeypatch.setenv("OUTPUTS", str(tmp_path / "outputs.json"))
    code, out, _ = run_verify(capsys, "--stack", "down")
    assert code == 1 and out.splitlines()[-1].startswith("verify: stack=down ")
    assert pulumi_stand_in.read_text().splitlines() == [
        "stack output --json --show-secrets --stack down",
        "stack history --json --page-size 1 --stack down",
    ]
    assert verify_main.last_update_started("down") == parse_time("2026-11-28T12:00:00.250Z")


def test_a_stack_pulumi_does_not_know_is_one_line_and_exit_2(pulumi_stand_in: Path, capsys) -> None:
    code, out, err = run_verify(capsys, "--stack", "gone")
    assert (code, out) == (2, "")
    assert err == "verify: no outputs for stack 'gone': error: no stack named 'gone' found\n"


def test_no_pulumi_cli_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert run_verify(capsys, "--stack", "dev")[1:] == ("", "verify: the Pulumi CLI is not on PATH\n")


def test_no_history_means_no_deploy_time(pulumi_stand_in: Path, tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "bin" / "pulumi").write_text("#!/bin/sh\necho '[]'\n")
    assert verify_main.last_update_started("dev") is None


def test_figures_are_one_line_with_what_was_measured() -> None:
    figures = verify_main.Figures(first_row_s=1.25, latencies_ms=[10.0, 20.0, 30.0], alert_s=61.4)
    # p95 of 10, 20 and 30 ms is 29 by the inclusive method
    assert figures.line("s") == "verify: stack=s first_row_s=1.2 produce_to_queryable_ms_p50=20 p95=29 alert_s=61"


def test_main_passes_its_arguments_on_and_exits_0_when_every_check_passed(tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / "outputs.json").write_text(json.dumps(down_outputs()))
    seen = {}

    def verified(outputs, stack, deployed_at, alert, checks):
        seen.update(stack=stack, deployed_at=deployed_at, alert=alert, topic=outputs["kafkaTopic"])
        return verify_main.Figures(first_row_s=2.0)

    monkeypatch.setattr(verify_main, "verify", verified)
    code, out, _ = run_verify(capsys, "--stack", "s", "--outputs", str(tmp_path / "outputs.json"),
                              "--deployed-at", "12.5", "--alert")  # fmt: skip
    assert code == 0 and seen == {"stack": "s", "deployed_at": 12.5, "alert": True, "topic": "metrics_raw"}
    assert out == "verify: stack=s first_row_s=2.0 produce_to_queryable_ms_p50=n/a p95=n/a alert_s=n/a\n"
    assert logging.getLogger("kafka").level == logging.getLogger("clickhouse_connect").level == logging.CRITICAL
    run_verify(capsys, "--stack", "s", "--outputs", str(tmp_path / "outputs.json"))
    assert seen["deployed_at"] is None and seen["alert"] is False  # outputs from a file: no history to ask


def test_usage_explains_every_option(capsys) -> None:
    with pytest.raises(SystemExit):
        verify_main.parse_args(["--help"])
    usage = " ".join(capsys.readouterr().out.split())
    assert usage.startswith("usage: python -m verify [-h] --stack STACK [--outputs FILE] [--deployed-at")
    assert "`python -m verify --stack NAME [--alert]` (what `make verify` runs): prove every hop" in usage
    for text in ("--stack STACK the stack to check",
                 "--outputs FILE a file holding the stack's outputs as JSON (pulumi stack output --json "
                 "--show-secrets > FILE), instead of asking Pulumi",
                 "--deployed-at DEPLOYED_AT unix time of the last `up` (default: from Pulumi)",
                 "--alert also drive the mid-price alert to pending/firing"):  # fmt: skip
        assert text in usage, text
    with pytest.raises(SystemExit):
        verify_main.parse_args(["--stack", "s", "--deployed-at", "soon"])  # a number


def test_verify_wires_each_hop_with_what_the_outputs_say(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: dict[str, tuple] = {}

    class Kafka:
        def __init__(self, servers: str) -> None:
            calls["kafka"] = (servers,)

        def check_topic(self, *args: object) -> str:
            calls["check_topic"] = args
            return "ok"

        def produce(self, topic: str, reports: list[bytes], spacing_s: float) -> list[Canary]:
            calls["produce"] = (topic, reports, spacing_s)
            return [Canary(0, n, 1.0, 2) for n in range(len(reports))]

    monkeypatch.setattr(verify_main, "KafkaHop", Kafka)
    monkeypatch.setattr(verify_main, "_clickhouse", lambda *args: calls.__setitem__("clickhouse", args))
    monkeypatch.setattr(verify_main, "_grafana", lambda *args: calls.__setitem__("grafana", args))
    shape = {"bid_size": 2, "ask_size": 3}
    outputs = {**down_outputs(), "kafkaBootstrapServers": "k:1", "kafkaTopicPartitions": 4.0,
               "kafkaReplicationFactor": 3, "schemaSpec": {"database": "m", "shape": shape}}  # fmt: skip
    checks = Checks(out=io.StringIO())
    figures = verify_main.verify(outputs, "s", 12.5, True, checks)
    spec = SchemaSpec(database="m", shape=ReportShape(bid_size=2, ask_size=3))
    assert calls["kafka"] == ("k:1",) and calls["check_topic"] == ("metrics_raw", 4, 3)
    topic, reports, spacing_s = calls["produce"]
    assert (topic, len(reports), spacing_s) == ("metrics_raw", verify_main.CANARIES, verify_main.CANARY_SPACING_S)
    for report in reports:  # canaries of the stack's shape (no producer accounting: they are not the generator's)
        levels = [key for key in json.loads(report) if key.startswith(("bid_", "ask_"))]
        assert levels == spec.shape.level_names("bid") + spec.shape.level_names("ask")
    canaries = [Canary(0, n, 1.0, 2) for n in range(verify_main.CANARIES)]
    assert calls["clickhouse"] == (outputs, spec, "s", 12.5, canaries, checks, figures)
    assert calls["grafana"][:4] == (outputs, spec, "s", True) and isinstance(calls["grafana"][4], Kafka)
    assert calls["grafana"][5:] == (checks, figures) and checks.passed


def test_a_check_line_says_how_long_the_check_took(monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = iter([10.0, 10.25, 20.0, 20.5])
    monkeypatch.setattr(checks_module, "time", SimpleNamespace(monotonic=lambda: next(ticks)))
    out = io.StringIO()
    checks = Checks(out=out)
    assert checks.run("h", "fine", lambda: "all good", "x") is True
    assert checks.run("h", "broken", lambda: (_ for _ in ()).throw(ValueError("")), "make logs") is False
    assert out.getvalue().splitlines() == [
        "verify: ok   h: fine (0.25 s): all good",
        "verify: FAIL h: broken (0.50 s): ValueError; look further: make logs",  # an empty message: the type
    ]


def test_every_failed_check_is_counted() -> None:
    checks = Checks(out=io.StringIO())
    for _ in range(2):
        checks.run("h", "broken", lambda: 1 / 0, "x")
    assert checks.failures == 2 and not checks.passed


def test_wait_for_asks_again_soon_and_never_waits_past_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([False, True])
    began = time.monotonic()
    assert checks_module.wait_for(lambda: next(answers), timeout_s=5) is True
    assert time.monotonic() - began < 0.5  # asked again after a fifth of a second
    frozen = SimpleNamespace(monotonic=lambda: 100.0, sleep=lambda _s: pytest.fail("waited past a deadline of 0 s"))
    monkeypatch.setattr(checks_module, "time", frozen)  # a clock that has not moved, in this module only
    assert checks_module.wait_for(lambda: False, timeout_s=0) is False


def test_a_pulumi_that_does_not_answer_is_one_line_and_exit_2(
    pulumi_stand_in: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    (tmp_path / "bin" / "pulumi").write_text("#!/bin/sh\nexec sleep 10\n")
    monkeypatch.setattr(verify_main, "PULUMI_TIMEOUT_S", 0.5)
    began = time.monotonic()
    code, out, err = run_verify(capsys, "--stack", "dev")
    assert (code, out, err) == (2, "", "verify: `pulumi stack output` did not answer within 0.5 s\n")
    assert time.monotonic() - began < 5


def test_pulumi_gets_no_terminal_to_prompt_on(pulumi_stand_in: Path, tmp_path: Path) -> None:
    (tmp_path / "bin" / "pulumi").write_text('#!/bin/sh\nreadlink /proc/$$/fd/0 > "$PULUMI_CALLS"\necho "[]"\n')
    read_end, write_end = os.pipe()
    saved = os.dup(0)
    os.dup2(read_end, 0)  # this process's stdin is a pipe: a child that inherited it would show one
    try:
        assert verify_main.last_update_started("dev") is None
    finally:
        os.dup2(saved, 0)
        for fd in (saved, read_end, write_end):
            os.close(fd)
    assert pulumi_stand_in.read_text().strip() == "/dev/null"


def test_outputs_pulumi_printed_before_failing_are_not_trusted(
    pulumi_stand_in: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    (tmp_path / "outputs.json").write_text(json.dumps(down_outputs()))
    failing = '#!/bin/sh\ncat "$OUTPUTS"\necho "error: the backend went away" >&2\nexit 1\n'
    (tmp_path / "bin" / "pulumi").write_text(failing)
    monkeypatch.setenv("OUTPUTS", str(tmp_path / "outputs.json"))
    expected = "verify: no outputs for stack 'dev': error: the backend went away\n"
    assert run_verify(capsys, "--stack", "dev") == (2, "", expected)


def test_each_check_line_shows_as_soon_as_the_check_ends() -> None:
    out = Pipe()
    checks = Checks(out=out)
    checks.run("h", "fine", lambda: "all good", "x")
    assert out.shown.splitlines()[-1].startswith("verify: ok   h: fine (")
    checks.run("h", "broken", lambda: 1 / 0, "x")
    assert out.shown.splitlines()[-1].startswith("verify: FAIL h: broken (")
    checks.skip("h", "later", "no canary")
    assert out.shown.splitlines()[-1] == "verify: FAIL h: later (not run: no canary)"


def test_a_kubernetes_stack_is_said_to_be_outside_verify_in_one_line(capsys: pytest.CaptureFixture[str],
                                                                      tmp_path: Path) -> None:  # fmt: skip
    (tmp_path / "k8s.json").write_text(json.dumps({"platform": "kubernetes", "kafkaUiUrl": "x"}))
    code, _, err = run_verify(capsys, "--stack", "alice", "--outputs", str(tmp_path / "k8s.json"))
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("verify: stack 'alice' runs on platform kubernetes: make verify checks Docker stacks only")
    (doc,) = re.findall(r"docs/[\w-]+\.md", err)  # where to read what a Kubernetes stack has instead
    assert (Path(verify_main.__file__).parents[1] / doc).is_file(), doc
