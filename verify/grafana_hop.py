"""The Grafana hop, through Grafana's HTTP API as the admin: health, the datasource's own health check
(Grafana calls ClickHouse with the reader's credentials), the dashboard, and both alert rules, provisioned
and evaluated (their state from Grafana's Prometheus-compatible rules API)."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any, Protocol

from dashboards.alerts import EVALUATION_INTERVAL_S
from verify.checks import Failed, wait_for

NEVER_EVALUATED = "0001-01-01T00:00:00Z"  # Go's zero time, as Grafana reports a rule not evaluated yet
RULES_PATH = "/api/prometheus/grafana/api/v1/rules"
POLL_S = 5.0  # rule state changes once per evaluation (60 s): no need to ask more often


class HttpGet(Protocol):
    def __call__(self, path: str) -> tuple[int, Any]: ...  # status, decoded JSON body


def basic_auth_get(url: str, user: str, password: str, timeout_s: float = 10) -> HttpGet:
    """GET `url + path` with basic auth; (status, JSON body) for any HTTP answer, Failed when none comes."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()

    def get(path: str) -> tuple[int, Any]:
        request = urllib.request.Request(url + path, headers={"Authorization": f"Basic {token}"})
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            body = error.read()
            return error.code, json.loads(body) if body.startswith((b"{", b"[")) else {"message": body.decode()}
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise Failed(f"an answer from Grafana at {url}", f"no answer ({reason})") from None

    return get


def _message(body: Any) -> str:
    return str(body.get("message", body)) if isinstance(body, dict) else str(body)


class GrafanaHop:
    def __init__(self, get: HttpGet) -> None:
        self._get = get

    def healthy(self) -> str:
        status, body = self._get("/api/health")
        if status != 200 or body.get("database") != "ok":
            raise Failed("/api/health 200 with database ok", f"{status} {body}")
        return f"Grafana {body.get('version', '?')}, database ok"

    def datasource_healthy(self, uid: str) -> str:
        status, body = self._get(f"/api/datasources/uid/{uid}/health")
        if status != 200 or body.get("status") != "OK":
            raise Failed(f"datasource {uid}'s health check to pass", f"{status} {_message(body)}")
        return f"datasource {uid}: {_message(body)}"

    def dashboard_exists(self, uid: str) -> str:
        status, body = self._get(f"/api/dashboards/uid/{uid}")
        if status != 200:
            raise Failed(f"dashboard {uid}", f"{status} {_message(body)}")
        return f"dashboard {uid}: {body['dashboard'].get('title')!r}"

    def rules_provisioned(self, uids: list[str]) -> str:
        for uid in uids:
            status, body = self._get(f"/api/v1/provisioning/alert-rules/{uid}")
            if status != 200:
                raise Failed(f"alert rule {uid}", f"{status} {_message(body)}")
        return f"alert rules {', '.join(uids)}"

    def rule_states(self) -> dict[str, dict[str, Any]]:
        """Each Grafana-managed rule's state, by rule name."""
        status, body = self._get(RULES_PATH)
        if status != 200 or body.get("status") != "success":
            raise Failed(f"{RULES_PATH} to answer", f"{status} {_message(body)}")
        return {rule["name"]: rule for group in body["data"]["groups"] for rule in group["rules"]}

    def rules_evaluated(self, names: list[str], timeout_s: float = EVALUATION_INTERVAL_S + 15) -> str:
        """Every rule evaluated at least once, and not in error."""
        states: dict[str, dict[str, Any]] = {}

        def evaluated() -> bool:
            states.update(self.rule_states())
            return all(states.get(n, {}).get("lastEvaluation", NEVER_EVALUATED) != NEVER_EVALUATED for n in names)

        if not wait_for(evaluated, timeout_s, poll_s=POLL_S):
            missing = [n for n in names if states.get(n, {}).get("lastEvaluation", NEVER_EVALUATED) == NEVER_EVALUATED]
            raise Failed(f"rules {names} evaluated within {timeout_s:g} s", f"never evaluated: {missing}")
        broken = {n: states[n].get("lastError") for n in names if states[n].get("health") == "error"}
        if broken:
            raise Failed("rules evaluating without error", f"errors: {broken}")
        return ", ".join(f"{n}: {states[n]['state']}" for n in names)

    def until_alerting(self, name: str, keep_triggering: Callable[[], None], timeout_s: float) -> float:
        """Seconds until rule `name` is pending or firing, calling `keep_triggering` between polls."""
        started = time.monotonic()

        def alerting() -> bool:
            keep_triggering()
            return self.rule_states().get(name, {}).get("state") in ("pending", "firing")

        if not wait_for(alerting, timeout_s, poll_s=POLL_S):
            state = self.rule_states().get(name, {}).get("state")
            raise Failed(f"rule {name!r} pending or firing within {timeout_s:g} s", f"state {state!r}")
        return time.monotonic() - started
