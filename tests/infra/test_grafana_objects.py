"""The Grafana-provider resources of the program under mocks: types, cross-references, secrets, stable JSON."""

from __future__ import annotations

import json

import pytest

from dashboards.market import DASHBOARD_UID, DATASOURCE_UID
from infra.settings import PROJECT, SettingsError
from testbed.program import dev_config, is_secret, plain_strings, run_program, unwrap

DATASOURCE = "grafana:oss/dataSource:DataSource"
DASHBOARD = "grafana:oss/dashboard:Dashboard"
RULE_GROUP = "grafana:alerting/ruleGroup:RuleGroup"
CONTACT_POINT = "grafana:alerting/contactPoint:ContactPoint"
POLICY = "grafana:alerting/notificationPolicy:NotificationPolicy"
WEBHOOK = "https://hooks.example.com/services/T000/B000/secret-token"


@pytest.fixture(scope="module")
def dev():
    return run_program()


def rules_of(program) -> dict[str, dict]:
    (group,) = program.of_type(RULE_GROUP)
    return {rule["name"]: rule for rule in group.inputs["rules"]}


def stages(rule: dict) -> dict[str, dict]:
    return {data["refId"]: {**data, "model": json.loads(data["model"])} for data in rule["datas"]}


def test_grafana_objects_exist_and_talk_to_the_stacks_grafana(dev) -> None:
    for typ in (DATASOURCE, DASHBOARD, RULE_GROUP, "grafana:oss/folder:Folder"):
        assert len(dev.of_type(typ)) == 1, typ
    provider = dev.named("grafana-provider")
    assert provider.inputs["url"] == "http://127.0.0.1:3000"
    assert is_secret(provider.inputs["auth"])
    assert "grafana" in dev.waits_for("pulumi:providers:grafana", "grafana-provider")  # the container's health
    assert "schema" in dev.waits_for("grafana:oss/dataSource:DataSource", "clickhouse")  # the reader user


def test_datasource_reads_through_the_reader_over_the_native_protocol(dev) -> None:
    (datasource,) = dev.of_type(DATASOURCE)
    assert datasource.inputs["type"] == "grafana-clickhouse-datasource"
    assert datasource.inputs["uid"] == DATASOURCE_UID
    settings = json.loads(datasource.inputs["jsonDataEncoded"])
    assert settings == {"host": "clickhouse", "port": 9000, "protocol": "native", "secure": False,
                        "username": "grafana_reader", "defaultDatabase": "market",
                        "queryTimeout": "60"}  # fmt: skip  # = the reader profile's MAX max_execution_time
    assert is_secret(datasource.inputs["secureJsonDataEncoded"])
    assert json.loads(unwrap(datasource.inputs["secureJsonDataEncoded"])) == {
        "password": "generated-clickhouse-reader-password"
    }


def test_dashboard_uses_the_datasource_and_has_our_uid_and_no_id_or_version(dev) -> None:
    (dashboard,) = dev.of_type(DASHBOARD)
    document = json.loads(dashboard.inputs["configJson"])
    assert document["uid"] == DASHBOARD_UID and "id" not in document and "version" not in document
    assert len(document["panels"]) >= 8
    # panel ids are sent as given (grafana_dashboard strips them from its state only): the rules link to them
    assert [panel["id"] for panel in document["panels"]] == list(range(1, len(document["panels"]) + 1))
    for panel in (panel for panel in document["panels"] if "targets" in panel):
        assert panel["datasource"]["uid"] == DATASOURCE_UID
        assert all(target["datasource"]["uid"] == DATASOURCE_UID for target in panel["targets"])
    mid_price = document["panels"][0]
    assert mid_price["fieldConfig"]["defaults"]["thresholds"]["steps"][-1]["value"] == 9.9
    assert document["templating"]["list"][0]["name"] == "level"


def test_same_settings_give_byte_identical_dashboard_json(dev) -> None:
    again = run_program()
    assert again.of_type(DASHBOARD)[0].inputs["configJson"] == dev.of_type(DASHBOARD)[0].inputs["configJson"]
    text = dev.of_type(DASHBOARD)[0].inputs["configJson"]
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_mid_price_rule_is_query_reduce_threshold_at_9_9(dev) -> None:
    rule = rules_of(dev)["mid price above threshold"]
    assert rule["condition"] == "C"
    chain = stages(rule)
    assert chain["A"]["datasourceUid"] == DATASOURCE_UID and chain["A"]["model"]["datasource"]["uid"] == DATASOURCE_UID
    assert chain["A"]["relativeTimeRange"] == {"from": 300, "to": 0}
    assert "$__timeFilter_ms(timestamp)" in chain["A"]["model"]["rawSql"]
    assert chain["B"]["model"]["type"] == "reduce" and chain["B"]["model"]["expression"] == "A"
    assert chain["C"]["model"]["type"] == "threshold" and chain["C"]["model"]["expression"] == "B"
    assert chain["C"]["model"]["conditions"] == [{"evaluator": {"type": "gt", "params": [9.9]}}]
    assert (rule["noDataState"], rule["execErrState"], rule["for"]) == ("OK", "Error", "1m")
    assert "$values.B.Value" in rule["annotations"]["summary"] and rule["labels"]["severity"]


def test_threshold_and_freshness_follow_config() -> None:
    program = run_program(config={**dev_config(), "midPriceThreshold": "12.5", "freshnessMinutes": "2"})
    rules = rules_of(program)
    assert stages(rules["mid price above threshold"])["C"]["model"]["conditions"][0]["evaluator"]["params"] == [12.5]
    freshness = stages(rules["no new rows"])
    assert freshness["C"]["model"]["conditions"][0]["evaluator"]["params"] == [120]
    assert freshness["A"]["relativeTimeRange"]["from"] > 120
    document = json.loads(program.of_type(DASHBOARD)[0].inputs["configJson"])
    assert document["panels"][0]["fieldConfig"]["defaults"]["thresholds"]["steps"][-1]["value"] == 12.5


def test_notifications_only_when_a_webhook_is_configured(dev) -> None:
    assert not dev.of_type(CONTACT_POINT) and not dev.of_type(POLICY)
    program = run_program(config={**dev_config(), "alertWebhookUrl": WEBHOOK}, secret=["alertWebhookUrl"])
    (contact,) = program.of_type(CONTACT_POINT)
    (policy,) = program.of_type(POLICY)
    assert policy.inputs["contactPoint"] == contact.inputs["name"]
    assert is_secret(contact.inputs["webhooks"])  # the URL carries a token: the whole list is secret
    for resource in program.resources:
        assert not [text for text in plain_strings(resource.inputs) if "secret-token" in text], resource.name


def test_a_webhook_url_set_as_plain_text_is_refused_and_never_echoed() -> None:
    """It names where alerts go and usually carries a token: `pulumi config set --secret` only."""
    with pytest.raises(SettingsError) as refused:
        run_program(config={**dev_config(), "alertWebhookUrl": WEBHOOK})
    assert str(refused.value) == (
        f"{PROJECT}:alertWebhookUrl is set as plain text: expected a secret "
        "(pulumi config set --secret alertWebhookUrl … --stack dev)"
    )
    with pytest.raises(SettingsError) as bad:  # a malformed secret: named, its value not repeated
        run_program(config={**dev_config(), "alertWebhookUrl": "ftp://secret-token@h"}, secret=["alertWebhookUrl"])
    assert str(bad.value) == (
        f"{PROJECT}:alertWebhookUrl (secret, not shown) is not accepted: expected empty, or an http(s):// URL"
    )
    assert "secret-token" not in str(bad.value)


def test_what_grafana_encrypts_is_created_again_when_its_secret_key_changes() -> None:
    """The datasource's password and the webhook URL are encrypted with Grafana's secret_key (generated, not the
    public default): a new key replaces them, so they never sit undecryptable under the old one."""
    program = run_program(config={**dev_config(), "alertWebhookUrl": WEBHOOK}, secret=["alertWebhookUrl"])
    triggers = program.replacement_triggers
    assert set(triggers) == {(DATASOURCE, "clickhouse"), (CONTACT_POINT, "webhook")}
