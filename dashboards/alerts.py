"""The Grafana-managed alert rules, as plain data: query A → reduce B → threshold C, each rule linked to the
dashboard panel that shows its state by that panel's key.

Choices, for both rules:
- evaluated every minute over a window several times longer (pipeline latency: a row can land in
  ClickHouse a flush interval after its report was made);
- `for` 1m: the condition must hold on two evaluations in a row, so one evaluation racing a flush pages no one;
- `exec_err_state` Error: a failing query shows as an error of its own, never as OK and never as a price alert.
`no_data_state` differs: no rows means no price above the threshold (OK — the freshness rule is what reports
missing data), while for freshness no data means stale (Alerting).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dashboards import panels
from dashboards.market import DASHBOARD_UID, datasource_ref
from dashboards.queries import SETTLE_S, mid_price_rule_sql, newest_row_age, reports_lost
from ddl.spec import SchemaSpec

EVALUATION_INTERVAL_S = 60
QUERY_INTERVAL_MS = 10_000
MAX_DATA_POINTS = 43_200
EXPRESSION_DATASOURCE = {"type": "__expr__", "uid": "__expr__"}


@dataclass(frozen=True)
class Stage:
    """One stage of a rule as Grafana stores it: what the Grafana component hands the provider."""

    ref_id: str
    datasource_uid: str
    relative_from_s: int  # how far back its time range starts (0 for expressions)
    model: dict[str, Any]


@dataclass(frozen=True)
class AlertRule:
    name: str
    uid: str
    panel: str  # the key of the dashboard panel that shows the rule's state
    sql: str  # query A, a time series
    window_s: int  # A's relative time range
    reducer: str  # B
    threshold: float  # C: fires when B > threshold
    no_data_state: str
    summary: str
    description: str = ""
    for_: str = "1m"
    exec_err_state: str = "Error"
    labels: dict[str, str] = field(default_factory=dict)

    def annotations(self, runbook_url: str, panel_id: int | None) -> dict[str, str]:
        """Summary, what to do, and the dashboard panel that shows the rule's state (Grafana draws it there)."""
        notes = {"summary": self.summary, "description": self.description}
        if runbook_url:
            notes["runbook_url"] = runbook_url
        if panel_id is not None:
            notes.update(__dashboardUid__=DASHBOARD_UID, __panelId__=str(panel_id))
        return notes

    def stages(self, datasource_uid: str) -> list[Stage]:
        """The rule's three stages as Grafana stores them: refId, datasource, relative range, model."""
        query = {
            "refId": "A",
            "datasource": datasource_ref(datasource_uid),
            "editorType": "sql",
            "format": 0,
            "queryType": "timeseries",
            "rawSql": self.sql,
            "intervalMs": QUERY_INTERVAL_MS,
            "maxDataPoints": MAX_DATA_POINTS,
        }
        reduce = {
            "refId": "B",
            "datasource": EXPRESSION_DATASOURCE,
            "type": "reduce",
            "expression": "A",
            "reducer": self.reducer,
            "settings": {"mode": "dropNN"},
            "intervalMs": 1000,
            "maxDataPoints": MAX_DATA_POINTS,
        }
        threshold = {
            "refId": "C",
            "datasource": EXPRESSION_DATASOURCE,
            "type": "threshold",
            "expression": "B",
            "conditions": [{"evaluator": {"type": "gt", "params": [self.threshold]}}],
            "intervalMs": 1000,
            "maxDataPoints": MAX_DATA_POINTS,
        }
        return [
            Stage("A", datasource_uid, self.window_s, query),
            Stage("B", EXPRESSION_DATASOURCE["uid"], 0, reduce),
            Stage("C", EXPRESSION_DATASOURCE["uid"], 0, threshold),
        ]


def pipeline_rules(spec: SchemaSpec, threshold: float, freshness_minutes: int, stack: str) -> list[AlertRule]:
    labels = {"pipeline": "pipelining-data", "stack": stack}
    freshness_s = freshness_minutes * 60
    return [
        AlertRule(
            name="mid price above threshold",
            uid="mid-price-above",
            panel=panels.MID_PRICE,
            sql=mid_price_rule_sql(spec),
            window_s=5 * EVALUATION_INTERVAL_S,
            reducer="max",
            threshold=threshold,
            no_data_state="OK",
            summary=f"Level-1 mid price reached {{{{ $values.B.Value }}}} (threshold {threshold:g})",
            description="The highest level-1 mid price (ask_1 + bid_1) / 2 in the last 5 minutes is above the "
            "threshold. Check the mid-price panel; if the data itself looks wrong, see the runbook.",
            labels={**labels, "severity": "warning"},
        ),
        AlertRule(
            name="no new rows",
            uid="data-freshness",
            panel=panels.FRESHNESS,
            sql=newest_row_age(spec, as_series=True),
            window_s=2 * freshness_s,  # wider than the limit, so a stale table shows its real age
            reducer="last",
            threshold=freshness_s,
            no_data_state="Alerting",
            summary=f"Newest row is {{{{ $values.B.Value }}}} s old (limit {freshness_s} s): is the pipeline running?",
            description="No report reached ClickHouse recently. Run `make status` and `make verify`: the first "
            "failing hop (generator, Kafka, ClickHouse's consumer) is where to look; the runbook has each case.",
            labels={**labels, "severity": "critical"},
        ),
        AlertRule(
            name="reports lost",
            uid="reports-lost",
            panel=panels.REPORTS_LOST,
            sql=reports_lost(spec, as_series=True),
            window_s=10 * 60,
            reducer="last",
            threshold=0,
            no_data_state="OK",  # no producer in range: nothing sent, nothing lost (freshness reports silence)
            summary="{{ $values.B.Value }} report(s) sent but never stored in the last 10 minutes",
            description=f"Gaps in a producer's sequence numbers, among reports older than {SETTLE_S} s: reports "
            "the generator handed to Kafka that never reached ClickHouse. Check the generator's `failed=` count "
            "(`make logs SERVICE=generator`) and the dead-letter table; the runbook has each case.",
            for_="2m",  # a partition catching up after a pause must not page anyone
            labels={**labels, "severity": "critical"},
        ),
    ]
