"""`make verify`'s Grafana hop over real HTTP (a local server with basic auth) answering with Grafana's own
response bodies for each endpoint, success and error (tests/fixtures/grafana, sources in SOURCES.md)."""

from __future__ import annotations

import base64
import io
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.contract import ReportShape
from dashboards.alerts import EVALUATION_INTERVAL_S
from ddl.spec import SchemaSpec
from testbed.broker import free_port
from testbed.repo import REPO_ROOT
from testbed.verify_output import look_further
from verify import __main__ as verify_main
from verify import grafana_hop
from verify.checks import Checks, Failed
from verify.clickhouse_hop import landing_bound_s
from verify.grafana_hop import RULES_PATH, GrafanaHop, basic_auth_get

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "grafana"
USER, PASSWORD = "admin", "s3cret"
RULES = ["mid price above threshold", "no new rows"]
HEALTHY = {
    "/api/health": (200, "health_ok.json"),
    "/api/datasources/uid/pipelining-data-clickhouse/health": (200, "datasource_health_ok.json"),
    "/api/datasources/uid/other/health": (500, "datasource_not_found.json"),
    "/api/dashboards/uid/pipelining-data-market": (200, "dashboard_ok.json"),
    "/api/dashboards/uid/other": (404, "dashboard_not_found.json"),
    "/api/v1/provisioning/alert-rules/mid-price-above": (200, "alert_rule_ok.json"),
    "/api/v1/provisioning/alert-rules/data-freshness": (200, "alert_rule_ok.json"),
    "/api/v1/provisioning/alert-rules/other": (404, "alert_rule_not_found.json"),
    RULES_PATH: (200, "prometheus_rules.json"),
}


class FakeGrafana(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, str]] = HEALTHY

    def do_GET(self) -> None:
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        status, fixture = (
            self.routes.get(self.path, (404, "dashboard_not_found.json"))
            if self.headers.get("Authorization") == expected
            else (401, "unauthorized.json")
        )
        body = (FIXTURES / fixture).read_bytes()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def grafana(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, dict[str, tuple[int, str]]]]:
    """A local server answering like Grafana; tests may change its routes."""
    monkeypatch.setattr(grafana_hop, "POLL_S", 0.05)
    routes = dict(HEALTHY)
    handler = type("Handler", (FakeGrafana,), {"routes": routes})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", routes
    server.shutdown()
    server.server_close()


def hop(url: str, password: str = PASSWORD) -> GrafanaHop:
    return GrafanaHop(basic_auth_get(url, USER, password))


def test_a_healthy_grafana_passes_every_check(grafana) -> None:
    url, _ = grafana
    checks = hop(url)
    assert checks.healthy().endswith("database ok")
    assert checks.datasource_healthy("pipelining-data-clickhouse").endswith("Data source is working")
    assert checks.dashboard_exists("pipelining-data-market").startswith("dashboard pipelining-data-market: ")
    assert checks.rules_provisioned(["mid-price-above", "data-freshness"]) == (
        "alert rules mid-price-above, data-freshness"
    )
    assert checks.rules_evaluated(RULES, timeout_s=1) == "mid price above threshold: inactive, no new rows: inactive"


@pytest.mark.parametrize(
    ("route", "answer", "call", "expected"),
    [
        ("/api/health", (503, "health_db_failing.json"), lambda h: h.healthy(), "expected /api/health 200"),
        ("/api/datasources/uid/pipelining-data-clickhouse/health", (400, "datasource_health_error.json"),
         lambda h: h.datasource_healthy("pipelining-data-clickhouse"), "saw 400 "),
        ("/api/datasources/uid/pipelining-data-clickhouse/health", (500, "datasource_not_found.json"),
         lambda h: h.datasource_healthy("pipelining-data-clickhouse"), "saw 500 Unable to load datasource metadata"),
        ("/api/dashboards/uid/pipelining-data-market", (404, "dashboard_not_found.json"),
         lambda h: h.dashboard_exists("pipelining-data-market"), "saw 404 Dashboard not found"),
        ("/api/v1/provisioning/alert-rules/data-freshness", (404, "alert_rule_not_found.json"),
         lambda h: h.rules_provisioned(["mid-price-above", "data-freshness"]), "expected alert rule data-freshness"),
    ],
)  # fmt: skip
def test_each_error_answer_is_one_line_naming_what_was_expected(grafana, route, answer, call, expected) -> None:
    url, routes = grafana
    routes[route] = answer
    with pytest.raises(Failed) as failure:
        call(hop(url))
    assert expected in str(failure.value) and "\n" not in str(failure.value)


def test_rules_not_evaluated_yet_fail_after_the_wait(grafana) -> None:
    url, routes = grafana
    routes[RULES_PATH] = (200, "prometheus_rules_not_evaluated.json")
    with pytest.raises(Failed, match=r"never evaluated: \['mid price above threshold', 'no new rows'\]"):
        hop(url).rules_evaluated(RULES, timeout_s=0.3)


def test_a_rule_in_error_is_named_with_its_error(monkeypatch: pytest.MonkeyPatch) -> None:
    body = json.loads((FIXTURES / "prometheus_rules.json").read_text())
    rule = body["data"]["groups"][0]["rules"][1]
    rule.update(health="error", lastError="code: 497, ACCESS_DENIED")
    with pytest.raises(Failed, match=re.escape("errors: {'no new rows': 'code: 497, ACCESS_DENIED'}")):
        GrafanaHop(lambda path: (200, body)).rules_evaluated(RULES, timeout_s=0)


def test_wrong_credentials_show_grafanas_own_message(grafana) -> None:
    url, _ = grafana
    with pytest.raises(Failed, match="saw 401 Invalid username or password"):
        hop(url, password="wrong").datasource_healthy("pipelining-data-clickhouse")


def test_no_grafana_at_all_is_one_line() -> None:
    with pytest.raises(Failed, match=r"expected an answer from Grafana at http://127\.0\.0\.1:\d+, saw no answer"):
        hop(f"http://127.0.0.1:{free_port()}").healthy()


def test_the_alert_is_waited_for_while_canaries_keep_it_triggered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grafana_hop, "POLL_S", 0.01)
    body = json.loads((FIXTURES / "prometheus_rules.json").read_text())
    triggered = []

    def get(path: str) -> tuple[int, dict]:
        body["data"]["groups"][0]["rules"][0]["state"] = "pending" if len(triggered) >= 3 else "inactive"
        return 200, body

    seconds = GrafanaHop(get).until_alerting("mid price above threshold", lambda: triggered.append(1), 5)
    assert len(triggered) == 3 and 0 <= seconds < 5
    body["data"]["groups"][0]["rules"][0]["state"] = "inactive"
    expected = "expected rule 'no new rows' pending or firing within 0.05 s, saw state 'inactive'"
    with pytest.raises(Failed, match=re.escape(expected)):
        GrafanaHop(lambda path: (200, body)).until_alerting("no new rows", lambda: None, 0.05)


class RecordingKafka:
    """Stands in for verify's Kafka hop where the Grafana hop only produces alert canaries through it."""

    def __init__(self) -> None:
        self.produced: list[tuple[str, list[bytes]]] = []

    def produce(self, topic: str, reports: list[bytes]) -> None:
        self.produced.append((topic, reports))


def grafana_answering(routes: dict[str, tuple[int, str]], rules: dict, triggered: list) -> Callable:
    """Grafana's answers by path (an error route wins); the mid-price rule turns pending once a canary was produced."""

    def get(path: str) -> tuple[int, object]:
        status, fixture = routes.get(path, (404, "dashboard_not_found.json"))
        if path in routes and status != 200:
            return status, json.loads((FIXTURES / fixture).read_text())
        if path == RULES_PATH:
            rules["data"]["groups"][0]["rules"][0]["state"] = "pending" if triggered else "inactive"
            return 200, rules
        if path.startswith("/api/v1/provisioning/alert-rules/"):
            return 200, json.loads((FIXTURES / "alert_rule_ok.json").read_text())
        return status, json.loads((FIXTURES / fixture).read_text())

    return get


def run_grafana_hop(monkeypatch: pytest.MonkeyPatch, alert: bool, routes=HEALTHY) -> tuple[list[str], dict]:
    monkeypatch.setattr(grafana_hop, "POLL_S", 0.01)
    rules = json.loads((FIXTURES / "prometheus_rules.json").read_text())
    group = rules["data"]["groups"][0]["rules"]
    group.append({**group[1], "name": "reports lost"})  # our third rule, answered as Grafana answers the others
    kafka, asked = RecordingKafka(), {}

    def connect(url: str, user: str, password: str) -> Callable:
        asked.update(url=url, user=user, password=password)
        return grafana_answering(routes, rules, kafka.produced)

    monkeypatch.setattr(verify_main, "basic_auth_get", connect)
    outputs = {"grafanaUrl": "http://grafana.test", "grafanaAdminUser": USER, "grafanaAdminPassword": PASSWORD,
               "grafanaDatasourceUid": "pipelining-data-clickhouse", "midPriceThreshold": 9.9,
               "kafkaTopic": "metrics_raw"}  # fmt: skip
    out, figures = io.StringIO(), verify_main.Figures()
    spec = SchemaSpec(shape=ReportShape(random_decimal=2))
    verify_main._grafana(outputs, spec, "dev", alert, kafka, Checks(out=out), figures)  # type: ignore[arg-type]
    assert asked == {"url": "http://grafana.test", "user": USER, "password": PASSWORD}
    return out.getvalue().splitlines(), {"kafka": kafka, "figures": figures}


def test_the_grafana_hop_checks_everything_and_drives_the_alert(monkeypatch: pytest.MonkeyPatch) -> None:
    lines, seen = run_grafana_hop(monkeypatch, alert=True)
    names = [line.split(" (")[0] for line in lines]
    assert names == [f"verify: ok   grafana: {name}" for name in (
        "healthy", "datasource health check", "dashboard", "alert rules provisioned", "alert rules evaluated",
        "mid-price alert")], lines  # fmt: skip
    assert lines[3].endswith("alert rules mid-price-above, data-freshness, reports-lost")
    assert lines[4].endswith("mid price above threshold: inactive, no new rows: inactive, reports lost: inactive")
    assert "'mid price above threshold' pending or firing after 0 s (level-1 mid 9.91)" in lines[5]
    [(topic, [canary])] = seen["kafka"].produced
    report = json.loads(canary)
    assert topic == "metrics_raw" and report["bid_1"] == report["ask_1"] == 9.91
    assert seen["figures"].alert_s is not None and seen["figures"].alert_s < 1


def test_without_alert_no_canary_is_produced_and_a_broken_datasource_is_named(monkeypatch) -> None:
    routes = {
        **HEALTHY,
        "/api/datasources/uid/pipelining-data-clickhouse/health": (400, "datasource_health_error.json"),
    }
    lines, seen = run_grafana_hop(monkeypatch, alert=False, routes=routes)
    assert [line.split(" (")[0] for line in lines][:2] == [
        "verify: ok   grafana: healthy", "verify: FAIL grafana: datasource health check"]  # fmt: skip
    assert "look further: make logs STACK=dev SERVICE=clickhouse" in lines[1]
    assert len(lines) == 5 and seen["kafka"].produced == [] and seen["figures"].alert_s is None


def test_an_unhealthy_grafana_stops_the_hop_after_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    lines, seen = run_grafana_hop(
        monkeypatch, alert=True, routes={**HEALTHY, "/api/health": (503, "health_db_failing.json")}
    )
    assert len(lines) == 1 and lines[0].startswith("verify: FAIL grafana: healthy")
    assert "look further: make logs STACK=dev SERVICE=grafana" in lines[0]
    assert seen["kafka"].produced == []


def answering(*answers: tuple[int, str | object]) -> GrafanaHop:
    """A hop whose Grafana gives these answers in turn (a fixture file's body, or a body as is)."""
    queue = list(answers)

    def get(path: str) -> tuple[int, object]:
        status, body = queue.pop(0)
        return status, json.loads((FIXTURES / body).read_text()) if isinstance(body, str) else body

    return GrafanaHop(get)


def test_what_each_check_found_is_said_exactly() -> None:
    assert answering((200, "health_ok.json")).healthy() == "Grafana 12.1.1, database ok"
    assert answering((200, {"database": "ok"})).healthy() == "Grafana ?, database ok"  # a version it keeps to itself
    assert (
        answering((200, "datasource_health_ok.json")).datasource_healthy("ds")
        == "datasource ds: Data source is working"
    )
    assert answering((200, "dashboard_ok.json")).dashboard_exists("d") == "dashboard d: 'Pipeline overview'"
    assert answering((200, {}), (200, {})).rules_provisioned(["a", "b"]) == "alert rules a, b"


@pytest.mark.parametrize(
    ("call", "answers", "expected"),
    [
        (lambda h: h.healthy(), [(200, {"database": "failing"})],
         "expected /api/health 200 with database ok, saw 200 {'database': 'failing'}"),
        (lambda h: h.datasource_healthy("ds"), [(200, "datasource_health_error.json")],
         "expected datasource ds's health check to pass, saw 200 dial tcp 172.18.0.3:9000: connect: "
         "connection refused"),
        (lambda h: h.datasource_healthy("ds"), [(502, ["not", "an", "object"])],
         "expected datasource ds's health check to pass, saw 502 ['not', 'an', 'object']"),
        (lambda h: h.dashboard_exists("d"), [(404, "dashboard_not_found.json")],
         "expected dashboard d, saw 404 Dashboard not found"),
        (lambda h: h.dashboard_exists("d"), [(403, {"error": "forbidden"})],
         "expected dashboard d, saw 403 {'error': 'forbidden'}"),
        (lambda h: h.rules_provisioned(["a", "b", "c"]), [(200, {}), (404, {"message": "not found"}), (404, {})],
         "expected alert rule b, saw 404 not found"),
    ],
)  # fmt: skip
def test_each_failure_says_what_was_expected_and_what_came(call, answers, expected: str) -> None:
    with pytest.raises(Failed) as failure:
        call(answering(*answers))
    assert str(failure.value) == expected


def test_a_firing_rule_counts_as_alerting_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grafana_hop, "POLL_S", 0.01)
    body = json.loads((FIXTURES / "prometheus_rules.json").read_text())
    body["data"]["groups"][0]["rules"][1]["state"] = "firing"
    seconds = GrafanaHop(lambda path: (200, body)).until_alerting("no new rows", lambda: None, 5)
    assert 0 <= seconds < 1


@pytest.mark.parametrize(
    ("answer", "seen"),
    [((503, {"message": "unavailable"}), "503 unavailable"), ((200, {"status": "error", "error": "x"}),
     "200 {'status': 'error', 'error': 'x'}")],
)  # fmt: skip
def test_rule_states_that_cannot_be_read_are_said_exactly(answer: tuple, seen: str) -> None:
    with pytest.raises(Failed) as failure:
        GrafanaHop(lambda path: answer).rule_states()
    assert str(failure.value) == f"expected {RULES_PATH} to answer, saw {seen}"


def rules_body(**states: dict) -> dict:
    """Grafana's rules answer (the recorded fixture) with each named rule's fields replaced."""
    body = json.loads((FIXTURES / "prometheus_rules.json").read_text())
    rules = body["data"]["groups"][0]["rules"]
    rules[:] = [{**rules[0], "name": name, **fields} for name, fields in states.items()]
    return body


def test_a_rule_grafana_does_not_list_is_never_evaluated() -> None:
    body = rules_body(**{"mid price above threshold": {}})
    with pytest.raises(Failed) as failure:
        GrafanaHop(lambda path: (200, body)).rules_evaluated(RULES, timeout_s=0)
    assert str(failure.value) == (
        "expected rules ['mid price above threshold', 'no new rows'] evaluated within 0 s, "
        "saw never evaluated: ['no new rows']"
    )


def test_a_broken_rule_is_said_exactly() -> None:
    body = rules_body(**{"no new rows": {"health": "error", "lastError": "code: 60"}})
    with pytest.raises(Failed) as failure:
        GrafanaHop(lambda path: (200, body)).rules_evaluated(["no new rows"], timeout_s=0)
    assert str(failure.value) == "expected rules evaluating without error, saw errors: {'no new rows': 'code: 60'}"


def test_rules_are_polled_at_the_hops_pace(monkeypatch: pytest.MonkeyPatch) -> None:
    """Evaluated on the fourth answer: found within 0.3 s only when polling every POLL_S, not every 0.2 s."""
    monkeypatch.setattr(grafana_hop, "POLL_S", 0.01)
    never = rules_body(**{"no new rows": {"lastEvaluation": "0001-01-01T00:00:00Z"}})
    answers = [never, never, never, rules_body(**{"no new rows": {}})]
    hop = GrafanaHop(lambda path: (200, answers.pop(0) if len(answers) > 1 else answers[0]))
    assert hop.rules_evaluated(["no new rows"], timeout_s=0.3) == "no new rows: inactive"
    pending = [rules_body(**{"no new rows": {"state": s}}) for s in ("inactive", "inactive", "inactive", "pending")]
    hop = GrafanaHop(lambda path: (200, pending.pop(0) if len(pending) > 1 else pending[0]))
    assert hop.until_alerting("no new rows", lambda: None, timeout_s=0.3) < 0.3


def test_alerting_on_a_rule_grafana_does_not_list_fails_with_no_state() -> None:
    body = rules_body(**{"mid price above threshold": {}})
    with pytest.raises(Failed) as failure:
        GrafanaHop(lambda path: (200, body)).until_alerting("no new rows", lambda: None, 0)
    assert str(failure.value) == "expected rule 'no new rows' pending or firing within 0 s, saw state None"


class Answers(BaseHTTPRequestHandler):
    """Answers each path with a fixed status and raw body, and remembers the Authorization header."""

    bodies = {"/empty": (200, b""), "/text": (502, b"Bad Gateway"), "/list": (404, b'["a"]')}
    seen: list[str] = []

    def do_GET(self) -> None:
        self.seen.append(self.headers.get("Authorization", ""))
        status, body = self.bodies[self.path]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


def test_bodies_that_are_empty_plain_text_or_a_list_are_read_as_grafana_means_them() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        get = basic_auth_get(f"http://127.0.0.1:{server.server_address[1]}", "admin", "pw")
        assert get("/empty") == (200, None)
        assert get("/text") == (502, {"message": "Bad Gateway"})
        assert get("/list") == (404, ["a"])
        assert Answers.seen[-1] == "Basic " + base64.b64encode(b"admin:pw").decode()
    finally:
        server.shutdown()
        server.server_close()


def test_no_answer_names_the_reason() -> None:
    port = free_port()
    with pytest.raises(Failed) as failure:
        basic_auth_get(f"http://127.0.0.1:{port}", "admin", "pw")("/api/health")
    assert str(failure.value) == (
        f"expected an answer from Grafana at http://127.0.0.1:{port}, saw no answer ([Errno 111] Connection refused)"
    )


def test_each_grafana_failure_points_at_its_logs_and_the_alert_waits_long_enough(monkeypatch) -> None:
    broken = {**HEALTHY,
              "/api/datasources/uid/pipelining-data-clickhouse/health": (400, "datasource_health_error.json"),
              "/api/dashboards/uid/pipelining-data-market": (404, "dashboard_not_found.json"),
              "/api/v1/provisioning/alert-rules/data-freshness": (404, "alert_rule_not_found.json"),
              RULES_PATH: (500, "health_db_failing.json")}  # fmt: skip
    waited: list[float] = []

    def until_alerting(self, name: str, keep_triggering, timeout_s: float) -> float:
        waited.append(timeout_s)
        raise Failed("the alert", "nothing")

    monkeypatch.setattr(grafana_hop.GrafanaHop, "until_alerting", until_alerting)
    lines, _ = run_grafana_hop(monkeypatch, alert=True, routes=broken)
    hints = look_further(lines)
    assert hints == {"verify: FAIL grafana: datasource health check": "clickhouse",
                     "verify: FAIL grafana: dashboard": "grafana",
                     "verify: FAIL grafana: alert rules provisioned": "grafana",
                     "verify: FAIL grafana: alert rules evaluated": "grafana",
                     "verify: FAIL grafana: mid-price alert": "grafana"}  # fmt: skip
    spec = SchemaSpec(shape=ReportShape(random_decimal=2))
    assert waited == [2 * EVALUATION_INTERVAL_S + 60 + landing_bound_s(spec)]  # two evaluations, `for`, a flush


def test_a_grafana_that_takes_the_connection_but_never_answers_fails_within_the_timeout() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # the kernel accepts; nobody ever reads or answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        began = time.monotonic()
        with pytest.raises(Failed) as failure:
            basic_auth_get(url, "admin", "pw", timeout_s=0.5)("/api/health")
        assert time.monotonic() - began < 3
    assert str(failure.value) == f"expected an answer from Grafana at {url}, saw no answer (timed out)"
