"""Every dashboard panel and alert query, run on ClickHouse (chdb) against the real schema, after expanding
the plugin's macros as the plugin documents them; the alert chains evaluated over the real results."""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest

from dashboards.alerts import QUERY_INTERVAL_MS, AlertRule, pipeline_rules
from dashboards.macros import TimeRange, expand_macros
from dashboards.market import market_dashboard
from dashboards.queries import dashboard_queries
from generator.contract import ReportShape
from generator.report import ReportFactory
from infra.schema_sql import SchemaSpec, schema_objects
from tests.support.clickhouse import ChdbClient, apply_schema, as_kafka_rows
from tests.support.grafana import reduce_stage, threshold_stage

THRESHOLD = 9.9
FRESHNESS_MINUTES = 5


@pytest.fixture
def client() -> ChdbClient:
    return ChdbClient()


def fresh_schema(client: ChdbClient, shape: ReportShape | None = None) -> SchemaSpec:
    spec = SchemaSpec(database=f"g_{uuid.uuid4().hex[:12]}", shape=shape or ReportShape())
    apply_schema(client, spec)
    return spec


def last_minutes(minutes: float, interval_ms: int = 1000) -> TimeRange:
    now_ms = int(time.time() * 1000)
    return TimeRange(now_ms - int(minutes * 60_000), now_ms + 1000, interval_ms)


def insert_reports(client: ChdbClient, spec: SchemaSpec, reports: list[dict]) -> None:
    messages = [json.dumps(report).encode() for report in reports]
    client.insert_json_lines(f"{spec.database}.{spec.queue}", as_kafka_rows(messages))


def report(bid_1: float, ask_1: float, age_s: float = 1.0) -> dict:
    return {"timestamp": time.time() - age_s, "bid_1": bid_1, "ask_1": ask_1, "stats": [bid_1, ask_1]}


@pytest.mark.parametrize("shape", [ReportShape(), ReportShape(bid_size=4, ask_size=2, random_decimal=3)])
def test_every_panel_query_runs_and_returns_what_its_panel_expects(client: ChdbClient, shape: ReportShape) -> None:
    spec = fresh_schema(client, shape)
    client.insert_json_lines(f"{spec.database}.{spec.queue}", as_kafka_rows(ReportFactory(shape, seed=11).batch(500)))
    dashboard = market_dashboard(spec, "uid", THRESHOLD)
    levels = dashboard["templating"]["list"][0]["query"].split(",")
    assert levels[-1] == str(min(shape.bid_size, shape.ask_size))
    queries = dashboard_queries(spec)
    assert [p["targets"][0]["rawSql"] for p in dashboard["panels"]] == [q.sql for q in queries]
    for query in queries:
        for level in {levels[0], levels[-1]}:
            sql = expand_macros(query.sql, last_minutes(15), {"level": level})
            columns, rows = client.query_with_columns(sql)
            if query.panel == "timeseries":
                assert columns[0] == "time" and len(columns) >= 2, query.title
                assert rows and all(value is not None for row in rows for value in row[1:]), query.title
            elif query.panel == "stat":
                assert len(rows) == 1 and len(columns) == 1, query.title
            else:
                assert "last_poll_age_s" in columns and "exceptions" in columns, query.title
    rows_per_s = next(q for q in queries if q.title == "Rows ingested per second")
    _, rows = client.query_with_columns(expand_macros(rows_per_s.sql, last_minutes(15, interval_ms=60_000)))
    assert sum(float(rate) for _, rate in rows) * 60 == pytest.approx(500)


def evaluate(client: ChdbClient, rule: AlertRule, interval_ms: int = QUERY_INTERVAL_MS) -> bool | None:
    """A → B → C as Grafana evaluates the rule: A over its relative range, then the expression stages."""
    query, reduce, threshold = (stage["model"] for stage in rule.data("uid"))
    now_ms = int(time.time() * 1000)
    window = TimeRange(now_ms - rule.window_s * 1000, now_ms, interval_ms)
    columns, rows = client.query_with_columns(expand_macros(query["rawSql"], window))
    assert columns[0] == "time", rule.name
    return threshold_stage(threshold, reduce_stage(reduce, [row[1] for row in rows]))


def rules(spec: SchemaSpec) -> dict[str, AlertRule]:
    return {rule.uid: rule for rule in pipeline_rules(spec, THRESHOLD, FRESHNESS_MINUTES, "test")}


@pytest.mark.parametrize(
    ("bid_1", "ask_1", "fires"),
    [(9.9, 10.0, True), (9.8, 10.0, False), (9.9, 9.9, False), (1.0, 2.0, False), (9.95, 10.0, True)],
)
def test_mid_price_rule_fires_only_above_the_threshold(client: ChdbClient, bid_1: float, ask_1: float,
                                                       fires: bool) -> None:  # fmt: skip
    spec = fresh_schema(client, ReportShape(bid_size=1, ask_size=1, random_decimal=2))
    insert_reports(client, spec, [report(1.0, 2.0, age_s=30), report(bid_1, ask_1, age_s=20), report(1.0, 2.0)])
    assert evaluate(client, rules(spec)["mid-price-above"]) is fires


def test_mid_price_rule_ignores_what_left_its_window(client: ChdbClient) -> None:
    spec = fresh_schema(client, ReportShape(bid_size=1, ask_size=1))
    rule = rules(spec)["mid-price-above"]
    insert_reports(client, spec, [report(9.9, 10.0, age_s=rule.window_s + 60), report(1.0, 2.0)])
    assert evaluate(client, rule) is False


def test_mid_price_rule_has_no_data_without_rows(client: ChdbClient) -> None:
    spec = fresh_schema(client)
    assert rules(spec)["mid-price-above"].no_data_state == "OK"
    assert evaluate(client, rules(spec)["mid-price-above"]) is None


@pytest.mark.parametrize(("newest_age_s", "fires"), [(5, False), (FRESHNESS_MINUTES * 60 - 30, False),
                                                     (FRESHNESS_MINUTES * 60 + 30, True), (None, True)])  # fmt: skip
def test_freshness_rule_fires_when_the_newest_row_is_too_old(client: ChdbClient, newest_age_s: float | None,
                                                             fires: bool) -> None:  # fmt: skip
    spec = fresh_schema(client, ReportShape(bid_size=1, ask_size=1))
    if newest_age_s is not None:
        insert_reports(client, spec, [report(1.0, 2.0, age_s=newest_age_s + 60), report(1.0, 2.0, age_s=newest_age_s)])
    assert evaluate(client, rules(spec)["data-freshness"]) is fires


def tables_read(client: ChdbClient, sql: str) -> set[str]:
    """Every table `sql` reads, as ClickHouse's own analyzer resolves it (subqueries included)."""
    tree = client.query_with_columns(f"EXPLAIN QUERY TREE {sql}")[1]
    return {match[1] for (line,) in tree for match in re.finditer(r"\bTABLE id: \d+.*table_name: (\S+)", line)}


def granted_tables(spec: SchemaSpec) -> set[str]:
    reader = next(obj for obj in schema_objects(spec) if obj.kind == "access")
    return {match[1] for sql in reader.create for match in re.finditer(r"^GRANT SELECT ON (\S+) TO ", sql)}


def test_the_reader_is_granted_exactly_the_tables_panels_and_rules_read(client: ChdbClient) -> None:
    spec = fresh_schema(client)
    window = last_minutes(5)
    queries = [query.sql for query in dashboard_queries(spec)]
    queries += [rule.sql for rule in pipeline_rules(spec, THRESHOLD, FRESHNESS_MINUTES, "dev")]
    read = set().union(*(tables_read(client, expand_macros(sql, window, {"level": "1"})) for sql in queries))
    assert f"{spec.database}.{spec.target}" in read and "system.kafka_consumers" in read
    granted = granted_tables(spec)
    database_wide = {table for table in read if table.startswith(f"{spec.database}.")}
    assert granted == {f"{spec.database}.*"} | (read - database_wide)  # nothing missing, nothing extra
