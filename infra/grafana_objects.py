"""What lives inside Grafana, through the Grafana provider: datasource, folder, dashboard, alert rules, and
(only when a webhook URL is configured) a contact point with the notification policy routing to it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import pulumi
import pulumiverse_grafana as grafana

from dashboards.alerts import EVALUATION_INTERVAL_S, AlertRule, Stage, pipeline_rules
from dashboards.market import (
    DASHBOARD_UID,
    DATASOURCE_UID,
    PLUGIN_ID,
    Links,
    all_panels,
    canonical_json,
    market_dashboard,
    panel_ids,
)
from ddl.spec import READER_QUERY_TIMEOUT_S
from infra.clickhouse_server import NATIVE_PORT, ClickHouse
from infra.grafana_server import Grafana

FOLDER_UID = "pipelining-data"


@dataclass(frozen=True)
class GrafanaObjectsArgs:
    """What the dashboard and the rules are made from beyond the schema: the stack's name (the rules' label),
    the alert threshold and freshness limit, where the runbook is, and where alerts go."""

    stack: str
    mid_price_threshold: float
    freshness_minutes: int
    runbook_url: str
    alert_webhook_url: str  # empty: no contact point, Grafana's notification policy left alone


class GrafanaObjects(pulumi.ComponentResource):
    def __init__(
        self,
        args: GrafanaObjectsArgs,
        server: Grafana,
        clickhouse: ClickHouse,
        kafka_ui_url: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("pipelining-data:grafana:Objects", "grafana-objects", None, opts)
        # Talks to the stack's own Grafana, and only once it answers its health check.
        provider = grafana.Provider(
            "grafana-provider",
            url=server.url,
            auth=pulumi.Output.concat(server.admin_user, ":", server.admin_password),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[server.container]),
        )
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        # Grafana encrypts the secrets of these two with its secret_key: when the key changes (a new stack, or the
        # first `up` after the default key was replaced by a generated one), they are created again under the new
        # key instead of left undecryptable. A digest, so the key itself is not the trigger.
        sealed = pulumi.ResourceOptions.merge(
            child,
            pulumi.ResourceOptions(
                replacement_trigger=server.secret_key.apply(lambda key: hashlib.sha256(key.encode()).hexdigest()[:16]),
                delete_before_replace=True,  # a fixed uid or name: the old one must go first
            ),
        )
        self._sealed = sealed
        spec = clickhouse.spec
        self.datasource = grafana.oss.DataSource(
            "clickhouse",
            name="ClickHouse",
            type=PLUGIN_ID,
            uid=DATASOURCE_UID,
            json_data_encoded=json.dumps(
                {
                    "host": clickhouse.service_host,  # the container's alias on the stack's network
                    "port": NATIVE_PORT,
                    "protocol": "native",
                    "secure": False,
                    "username": clickhouse.reader_user,
                    "defaultDatabase": spec.database,
                    # seconds; the plugin sends it as max_execution_time, which the reader's profile bounds
                    "queryTimeout": str(READER_QUERY_TIMEOUT_S),
                },
                sort_keys=True,
            ),
            secure_json_data_encoded=clickhouse.reader_password.apply(
                lambda password: json.dumps({"password": password})
            ),
            opts=pulumi.ResourceOptions.merge(sealed, pulumi.ResourceOptions(depends_on=[clickhouse.schema])),
        )
        folder = grafana.oss.Folder("folder", title="Pipelining data", uid=FOLDER_UID, opts=child)
        links = Links(kafka_ui_url=kafka_ui_url, runbook_url=args.runbook_url)
        panels = all_panels(spec, args.mid_price_threshold, args.stack, links)
        self.dashboard = grafana.oss.Dashboard(
            "market-dashboard",
            folder=folder.uid,
            config_json=canonical_json(market_dashboard(spec, panels, DATASOURCE_UID)),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.datasource])),
        )
        rules = pipeline_rules(spec, args.mid_price_threshold, args.freshness_minutes, args.stack)
        ids = panel_ids(panels)
        self.rule_group = grafana.alerting.RuleGroup(
            "pipeline-alerts",
            name="pipeline",
            folder_uid=folder.uid,
            interval_seconds=EVALUATION_INTERVAL_S,
            rules=[rule_args(rule, self.datasource.uid, args.runbook_url, ids[rule.panel]) for rule in rules],
            opts=child,
        )
        if args.alert_webhook_url:
            self._notifications(args.alert_webhook_url, child)
        self.dashboard_url = f"{server.url}/d/{DASHBOARD_UID}"
        self.register_outputs({"dashboardUrl": self.dashboard_url})

    def _notifications(self, webhook_url: str, child: pulumi.ResourceOptions) -> None:
        """The policy owns the org's whole notification tree: created only when a URL is configured."""
        contact = grafana.alerting.ContactPoint(
            "webhook",
            name="pipeline webhook",
            webhooks=[grafana.alerting.ContactPointWebhookArgs(url=pulumi.Output.secret(webhook_url))],
            opts=self._sealed,
        )
        grafana.alerting.NotificationPolicy(
            "notification-policy",
            contact_point=contact.name,
            group_bies=["alertname", "stack"],
            opts=child,
        )


def rule_args(
    rule: AlertRule, datasource_uid: pulumi.Input[str], runbook_url: str, panel_id: int | None
) -> grafana.alerting.RuleGroupRuleArgs:
    return grafana.alerting.RuleGroupRuleArgs(
        name=rule.name,
        uid=rule.uid,
        condition="C",
        for_=rule.for_,
        no_data_state=rule.no_data_state,
        exec_err_state=rule.exec_err_state,
        labels=rule.labels,
        annotations=rule.annotations(runbook_url, panel_id),
        datas=[stage_args(stage, datasource_uid) for stage in rule.stages(DATASOURCE_UID)],
    )


def stage_args(stage: Stage, datasource_uid: pulumi.Input[str]) -> grafana.alerting.RuleGroupRuleDataArgs:
    return grafana.alerting.RuleGroupRuleDataArgs(
        ref_id=stage.ref_id,
        # query A reads the datasource (a reference, so the rule waits for it); B and C are expressions
        datasource_uid=datasource_uid if stage.ref_id == "A" else stage.datasource_uid,
        model=json.dumps(stage.model, sort_keys=True),
        relative_time_range=grafana.alerting.RuleGroupRuleDataRelativeTimeRangeArgs(from_=stage.relative_from_s, to=0),
    )
