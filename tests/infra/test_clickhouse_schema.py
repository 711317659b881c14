"""The schema provider's lifecycle, called directly against chdb as Pulumi would call it."""

from __future__ import annotations

import copy
import json
import re
import sys
import time
import uuid
from dataclasses import replace
from typing import Any

import dill
import pytest

from core.contract import ReportShape
from ddl.migration import migration_plan, schema_inputs, spec_from
from ddl.spec import SchemaSpec
from generator.report import ReportFactory
from infra.clickhouse_schema import (
    FORCE_HINT,
    NO_READER_PASSWORD,
    SchemaError,
    SchemaProvider,
    connect_http,
)
from infra.provider_support import FORCE_DELETE_ENV, FORCE_DELETE_WAIT_S
from testbed.broker import free_port
from testbed.clickhouse import ChdbClient, as_kafka_rows


def props_for(spec: SchemaSpec, **extra: Any) -> dict[str, Any]:
    # chdb has no access control, so the reader objects are left out here (see test_schema.test_reader_sql)
    return {**schema_inputs(spec), "manageReader": False, "readerPassword": "s3cret", **extra}


@pytest.fixture
def provider() -> SchemaProvider:
    return SchemaProvider(connect=lambda _props: ChdbClient())


def tables(spec: SchemaSpec) -> set[str]:
    return {r[0] for r in ChdbClient().query(f"SELECT name FROM system.tables WHERE database = '{spec.database}'")}


def count(spec: SchemaSpec) -> int:
    return ChdbClient().query(f"SELECT count() FROM {spec.database}.{spec.target}")[0][0]


def feed(spec: SchemaSpec, reports: int, seed: int) -> None:
    """`reports` new messages, at the offsets after those already stored."""
    messages = ReportFactory(spec.shape, seed=seed).batch(reports)
    first = ChdbClient().query(f"SELECT count() FROM {spec.database}.{spec.target}")[0][0]
    ChdbClient().insert_json_lines(f"{spec.database}.{spec.queue}", as_kafka_rows(messages, first_offset=int(first)))


def test_lifecycle(provider: SchemaProvider) -> None:
    spec = SchemaSpec(database=f"t_{uuid.uuid4().hex[:12]}", shape=ReportShape(bid_size=3, ask_size=3))
    props = props_for(spec)
    assert provider.check({}, props).failures == []

    created = provider.create(props)
    assert created.id == spec.database
    assert tables(spec) == {spec.queue, spec.target, spec.target_view, spec.dead_letter, spec.dead_letter_view,
                            spec.rollup, spec.rollup_view}  # fmt: skip
    feed(spec, 50, seed=1)
    provider.create(props)  # again (a retried `up`): converges, counts nothing twice
    assert count(spec) == 50
    rolled_up = ChdbClient().query(f"SELECT groupBitmapMerge(positions) FROM {spec.database}.{spec.rollup}")
    assert int(rolled_up[0][0]) == 50
    assert not provider.diff(spec.database, created.outs, props).changes

    wider = SchemaSpec(database=spec.database, shape=ReportShape(bid_size=5, ask_size=4))
    wider_props = props_for(wider)
    assert provider.diff(spec.database, created.outs, wider_props).changes
    assert provider.check(created.outs, wider_props).failures == []
    updated = provider.update(spec.database, created.outs, wider_props)
    assert count(spec) == 50, "adding levels must keep every stored row"
    feed(wider, 10, seed=2)
    rows = ChdbClient().query(f"SELECT count(), countIf(bid_5 > 0) FROM {spec.database}.{spec.target}")
    assert rows == [(60, 10)]
    # the rollup gained level 4's mid price: rebuilt and backfilled, it still covers every stored row
    rollup = ChdbClient().query(
        f"SELECT groupBitmapMerge(positions), countIf(mid2_max_4 > 0) > 0 FROM {spec.database}.{spec.rollup}"
    )
    assert [tuple(int(v) for v in row) for row in rollup] == [(60, 1)]

    narrower = props_for(SchemaSpec(database=spec.database, shape=ReportShape(bid_size=2, ask_size=4)))
    failures = provider.check(updated.outs, narrower).failures
    assert failures and "column bid_3 would be dropped" in failures[0].reason
    assert "allowDestructiveSchemaChanges" in failures[0].reason
    with pytest.raises(SchemaError, match="refused: column bid_3 would be dropped"):
        provider.update(spec.database, updated.outs, narrower)
    assert count(spec) == 60 and "bid_3" in _columns(spec)

    ChdbClient().command(f"DROP VIEW {spec.database}.{spec.target_view}")
    read = provider.read(spec.database, updated.outs)
    assert spec.target_view not in read.outs["objects"]
    assert provider.diff(spec.database, read.outs, wider_props).changes
    provider.update(spec.database, read.outs, wider_props)  # `pulumi up` after the refresh repairs the drift
    assert spec.target_view in tables(spec) and count(spec) == 60

    provider.delete(spec.database, updated.outs)
    assert ChdbClient().query(f"SELECT count() FROM system.databases WHERE name = '{spec.database}'") == [(0,)]
    provider.delete(spec.database, updated.outs)  # again: nothing left to drop, still succeeds
    assert provider.read(spec.database, updated.outs).id == ""


def _columns(spec: SchemaSpec) -> list[str]:
    query = f"SELECT name FROM system.columns WHERE database = '{spec.database}' AND table = '{spec.target}'"
    return [r[0] for r in ChdbClient().query(query)]


def test_destructive_change_applies_only_when_allowed(provider: SchemaProvider) -> None:
    spec = SchemaSpec(database=f"t_{uuid.uuid4().hex[:12]}", shape=ReportShape(bid_size=2, ask_size=2))
    created = provider.create(props_for(spec))
    feed(spec, 5, seed=1)
    other_decimals = props_for(
        SchemaSpec(database=spec.database, shape=ReportShape(bid_size=2, ask_size=2, random_decimal=2)),
        allowDestructiveChanges=True,
    )
    assert provider.check(created.outs, other_decimals).failures == []
    provider.update(spec.database, created.outs, other_decimals)
    assert count(spec) == 0  # the table was recreated with the new type, as explicitly allowed
    provider.delete(spec.database, other_decimals)


def _plan_heads(old: SchemaSpec, new: SchemaSpec) -> list[str]:
    return [sql.splitlines()[0] for sql in migration_plan(props_for(old), props_for(new))]


def test_adding_levels_stops_consumption_before_the_alter() -> None:
    heads = _plan_heads(
        SchemaSpec(shape=ReportShape(bid_size=1, ask_size=1)), SchemaSpec(shape=ReportShape(bid_size=2, ask_size=1))
    )
    drop_views = [
        "DROP VIEW IF EXISTS market.metrics_mv SYNC",
        "DROP VIEW IF EXISTS market.metrics_dead_letter_mv SYNC",
    ]
    assert heads[:2] == drop_views  # no view, no consumption
    alter = "ALTER TABLE market.metrics ADD COLUMN IF NOT EXISTS bid_2 Decimal(6, 1) CODEC(T64, ZSTD(1)) AFTER bid_1"
    assert heads[2] == alter
    # the Kafka table's columns changed too: it is recreated (offsets stay with the consumer group)
    assert (
        heads.index("DROP TABLE IF EXISTS market.metrics_queue SYNC")
        < heads.index("CREATE TABLE IF NOT EXISTS market.metrics_queue")
        < heads.index("CREATE MATERIALIZED VIEW IF NOT EXISTS market.metrics_mv TO market.metrics")
    )
    assert "DROP TABLE IF EXISTS market.metrics SYNC" not in heads


def test_retention_change_detaches_the_kafka_table_and_alters_in_place() -> None:
    heads = _plan_heads(SchemaSpec(retention_days=30), SchemaSpec(retention_days=7))
    assert heads[0] == "DETACH TABLE market.metrics_queue"
    assert "ALTER TABLE market.metrics MODIFY TTL toDate(timestamp) + INTERVAL 7 DAY" in heads
    assert "ALTER TABLE market.metrics_dead_letter MODIFY TTL toDate(seen_at) + INTERVAL 7 DAY" in heads
    assert heads.index("ATTACH TABLE market.metrics_queue") < heads.index(
        "CREATE MATERIALIZED VIEW IF NOT EXISTS market.metrics_mv TO market.metrics"
    )
    # the rollup's TTL is in its DDL: it alone is rebuilt from the target (dropped, created, backfilled)
    assert {h for h in heads if h.startswith("DROP TABLE")} == {"DROP TABLE IF EXISTS market.metrics_1m SYNC"}
    assert (
        heads.index("INSERT INTO market.metrics_1m")
        < heads.index("CREATE MATERIALIZED VIEW market.metrics_1m_mv TO market.metrics_1m")
        < heads.index("CREATE MATERIALIZED VIEW IF NOT EXISTS market.metrics_mv TO market.metrics")
    )


def test_no_change_no_diff_and_unknowns_count_as_changes(provider: SchemaProvider) -> None:
    props = props_for(SchemaSpec())
    assert not provider.diff("market", props, dict(props)).changes
    assert migration_plan(props, dict(props)) == []
    unknown = {**props, "objects": object()}  # how a preview presents a value not known yet
    assert provider.diff("market", props, unknown).changes
    assert provider.diff("market", props, {**props, "readerPassword": "rotated"}).changes


def test_check_rejects_bad_names_and_ranges(provider: SchemaProvider) -> None:
    bad = props_for(SchemaSpec())
    bad["spec"] = {**bad["spec"], "database": "1bad-name", "retention_days": 0}
    reasons = [f.reason for f in provider.check({}, bad).failures]
    assert any("database '1bad-name' is not accepted" in r for r in reasons)
    assert any("retention 0 days not accepted" in r for r in reasons)


def test_waiting_for_an_absent_clickhouse_ends_in_time() -> None:
    started = time.monotonic()
    props = {
        "host": "127.0.0.1",
        "port": free_port(),
        "adminUser": "admin",
        "adminPassword": "x",
        "waitTimeoutSeconds": 3,
    }
    with pytest.raises(SchemaError, match=r"ClickHouse at http://127.0.0.1:\d+ did not answer in time") as raised:
        connect_http(props)
    assert 3 <= time.monotonic() - started < 10
    assert "\n" not in str(raised.value)


def unreachable(spec: SchemaSpec, wait_s: float) -> dict[str, Any]:
    """Props whose ClickHouse is gone: nothing listens on the port."""
    connection = {"host": "127.0.0.1", "port": free_port(), "adminUser": "admin", "adminPassword": "x"}
    return props_for(spec, **connection, waitTimeoutSeconds=wait_s)


def test_destroy_with_clickhouse_gone_names_the_way_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FORCE_DELETE_ENV, raising=False)
    with pytest.raises(SchemaError) as raised:
        SchemaProvider().delete("market", unreachable(SchemaSpec(), wait_s=0))
    message = str(raised.value)
    assert message.startswith("ClickHouse at http://127.0.0.1:") and " did not answer in time: " in message
    assert message.endswith(f"; if it is gone for good, {FORCE_HINT}") and "\n" not in message


def test_forced_destroy_leaves_an_unreachable_schema_to_go_with_its_volume(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make destroy FORCE=1`: the delete tries its server briefly, then succeeds without it."""
    monkeypatch.setenv(FORCE_DELETE_ENV, "1")
    started = time.monotonic()
    SchemaProvider().delete("market", unreachable(SchemaSpec(), wait_s=600))
    assert FORCE_DELETE_WAIT_S <= time.monotonic() - started < FORCE_DELETE_WAIT_S + 5


def test_forced_destroy_still_drops_the_schema_of_a_server_that_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FORCE_DELETE_ENV, "1")
    spec = SchemaSpec(database=f"t_{uuid.uuid4().hex[:12]}", shape=ReportShape(bid_size=2, ask_size=2))
    provider = SchemaProvider(connect=lambda _props: ChdbClient())
    provider.create(props_for(spec))
    provider.delete(spec.database, props_for(spec))
    assert spec.database not in {row[0] for row in ChdbClient().query("SELECT name FROM system.databases")}


def test_provider_pickles_like_pulumi_pickles_it() -> None:
    restored = dill.loads(dill.dumps(SchemaProvider(), recurse=True))
    assert restored.check({}, props_for(SchemaSpec())).failures == []


def test_numbers_returned_as_floats_still_render_integers() -> None:
    old, new = props_for(SchemaSpec(retention_days=30)), props_for(SchemaSpec(retention_days=7))
    new["spec"] = {**new["spec"], "retention_days": 7.0, "shape": {**new["spec"]["shape"], "bid_size": 50.0}}
    assert "ALTER TABLE market.metrics MODIFY TTL toDate(timestamp) + INTERVAL 7 DAY" in migration_plan(old, new)


def test_a_stack_from_before_the_idempotent_target_is_refused_until_allowed(provider: SchemaProvider) -> None:
    """State written when the target was a plain MergeTree ordered by time: its rows cannot be re-sorted by
    Kafka position in place, so the change is refused like any other that would drop the table."""
    news = props_for(SchemaSpec())
    olds = {key: value for key, value in news.items() if key != "targetEngine"} | {"orderBy": "timestamp"}
    reasons = [failure.reason for failure in provider.check(olds, news).failures]
    assert reasons == [
        "refused: ORDER BY would change timestamp -> (timestamp, _partition, _offset); "
        "set allowDestructiveSchemaChanges to allow it (data is lost)",
        "refused: target engine would change MergeTree -> ReplacingMergeTree; "
        "set allowDestructiveSchemaChanges to allow it (data is lost)",
    ]
    assert provider.check(olds, {**news, "allowDestructiveChanges": True}).failures == []


BASE = SchemaSpec(shape=ReportShape(bid_size=2, ask_size=2))


def _old_order(props: dict[str, Any]) -> None:
    props["orderBy"] = "timestamp"


def _old_engine(props: dict[str, Any]) -> None:
    props["targetEngine"] = "MergeTree"


def _new_dead_letter(props: dict[str, Any]) -> None:
    dead_letter = props["objects"][BASE.dead_letter]
    dead_letter["create"] = [sql.replace("seen_at", "seen_at_utc") for sql in dead_letter["create"]]


@pytest.mark.parametrize(
    ("new_spec", "edit_old", "edit_new", "problem"),
    [
        (replace(BASE, database="market2"), None, None, "database renamed market -> market2"),
        (replace(BASE, target="metrics2"), None, None, "target table renamed metrics -> metrics2"),
        (replace(BASE, shape=ReportShape(bid_size=1, ask_size=2)), None, None, "column bid_2 would be dropped"),
        (replace(BASE, shape=ReportShape(bid_size=2, ask_size=2, random_decimal=2)), None, None,
         "column bid_1 would change type Decimal(6, 1) CODEC(T64, ZSTD(1)) -> Decimal(7, 2) CODEC(T64, ZSTD(1))"),
        (BASE, _old_order, None, "ORDER BY would change timestamp -> (timestamp, _partition, _offset)"),
        (BASE, _old_engine, None, "target engine would change MergeTree -> ReplacingMergeTree"),
        (BASE, None, _new_dead_letter, f"dead-letter table {BASE.dead_letter} would be recreated"),
    ],
    ids=["database", "target", "column-dropped", "column-type", "order-by", "engine", "dead-letter"],
)  # fmt: skip
def test_each_destructive_change_is_refused_in_preview_and_in_up(new_spec, edit_old, edit_new, problem: str) -> None:
    olds, news = props_for(BASE), props_for(new_spec)
    for edit, props in ((edit_old, olds), (edit_new, news)):
        if edit:
            edit(props)
    ran: list[str] = []
    provider = SchemaProvider(connect=lambda _props: pytest.fail("a refused update must not connect"))
    refusal = f"refused: {problem}; set allowDestructiveSchemaChanges to allow it (data is lost)"
    assert [(f.property, f.reason) for f in provider.check(olds, news).failures][:1] == [("objects", refusal)]
    with pytest.raises(SchemaError, match=re.escape(f"refused: {problem}")):
        provider.update("market", olds, news)
    allowed = {**news, "allowDestructiveChanges": True}
    assert provider.check(olds, allowed).failures == []
    SchemaProvider(connect=lambda _props: RecordingClient(ran)).update("market", olds, allowed)
    assert ran, "allowed, the same change runs"


class RecordingClient:
    def __init__(self, ran: list[str]) -> None:
        self.ran = ran

    def command(self, sql: str) -> None:
        self.ran.append(sql)

    def query(self, sql: str) -> list[tuple]:
        return []


def test_a_ttl_change_alone_does_not_recreate_the_dead_letter_table() -> None:
    olds, news = props_for(BASE), props_for(replace(BASE, retention_days=7))
    assert SchemaProvider(connect=lambda _props: ChdbClient()).check(olds, news).failures == []


USERS_SQL = "SELECT name FROM system.users"


ACCESS_STATEMENTS = (
    "CREATE USER",
    "DROP USER",
    "CREATE SETTINGS",
    "DROP SETTINGS",
    "CREATE QUOTA",
    "DROP QUOTA",
    "GRANT",
)


class ChdbWithUsers:
    """chdb, answering `system.users` as a server with access control would (chdb refuses SHOW USERS), and
    keeping every statement it was sent."""

    def __init__(self, users: list[str]) -> None:
        self.users, self.chdb, self.sent = users, ChdbClient(), []

    def command(self, sql: str) -> None:
        self.sent.append(sql)
        if not sql.startswith(ACCESS_STATEMENTS):
            self.chdb.command(sql)  # chdb has no access control to run the reader's statements on

    def query(self, sql: str) -> list[tuple]:
        return [(user,) for user in self.users] if sql == USERS_SQL else self.chdb.query(sql)


def connected(client: Any, seen: list[dict[str, Any]]) -> SchemaProvider:
    """A provider whose connections go to `client`, recording the properties each connection was made from."""
    return SchemaProvider(connect=lambda props: seen.append(props) or client)


def test_read_reports_what_exists_down_to_the_reader_user_and_the_rollups_view() -> None:
    spec = SchemaSpec(database=f"t_{uuid.uuid4().hex[:12]}", shape=ReportShape(bid_size=2, ask_size=2))
    props, seen = props_for(spec, manageReader=True), []
    client = ChdbWithUsers(["default"])
    provider = connected(client, seen)
    provider.create(props)
    assert seen == [props]
    read = provider.read(spec.database, props)
    assert seen[-1] is props and read.id == spec.database and read.inputs == read.outs
    assert set(read.outs["objects"]) == set(props["objects"]) - {spec.reader_user}  # the user is not there
    client.users.append(spec.reader_user)
    assert set(provider.read(spec.database, props).outs["objects"]) == set(props["objects"])
    ChdbClient().command(f"DROP VIEW {spec.database}.{spec.rollup_view}")  # the rollup table alone is not enough
    assert spec.rollup not in provider.read(spec.database, props).outs["objects"]
    ChdbClient().command(f"DROP DATABASE {spec.database}")
    gone = provider.read(spec.database, props)
    assert gone.id == "" and set(gone.outs["objects"]) == {spec.reader_user}


def test_a_server_that_will_not_list_users_keeps_the_reader_as_declared(provider: SchemaProvider) -> None:
    spec = SchemaSpec(database=f"t_{uuid.uuid4().hex[:12]}")
    props = props_for(spec, manageReader=True)
    SchemaProvider(connect=lambda _props: ChdbWithUsers([])).create(props)
    assert spec.reader_user in provider.read(spec.database, props).outs["objects"]  # chdb: ACCESS_DENIED
    provider.delete(spec.database, props_for(spec))


def test_the_reader_is_managed_unless_told_otherwise_and_its_password_is_quoted() -> None:
    spec = SchemaSpec(database=f"t_{uuid.uuid4().hex[:12]}")
    props = {**schema_inputs(spec), "readerPassword": "it's a \\ secret"}  # no manageReader: managed
    client = ChdbWithUsers([])
    connected(client, []).create(props)
    [create_user] = [sql for sql in client.sent if sql.startswith("CREATE USER")]
    assert "IDENTIFIED WITH sha256_password BY 'it\\'s a \\\\ secret'" in create_user
    client.sent.clear()
    connected(client, []).delete(spec.database, {**props, "manageReader": False})
    assert not [sql for sql in client.sent if "USER" in sql]  # not managed: left alone


def test_delete_drops_in_the_reverse_of_the_apply_order() -> None:
    spec = SchemaSpec(database=f"t_{uuid.uuid4().hex[:12]}")
    props, seen = props_for(spec, manageReader=True), []
    client = ChdbWithUsers([])
    provider = connected(client, seen)
    provider.create(props)
    client.sent.clear()
    provider.delete(spec.database, props)
    assert seen[-1] is props
    expected = [sql for name in reversed(props["applyOrder"]) for sql in props["objects"][name]["drop"]]
    assert client.sent == expected


def test_diff_changes_in_place_and_never_replaces(provider: SchemaProvider) -> None:
    olds = props_for(SchemaSpec())
    for news in (olds, props_for(SchemaSpec(retention_days=7))):
        diff = provider.diff("market", olds, news)
        assert (diff.changes, diff.replaces, diff.delete_before_replace) == (news is not olds, [], False)


def statements(props: dict[str, Any], kinds: set[str], which: str) -> list[str]:
    names = [n for n in props["applyOrder"] if props["objects"][n]["kind"] in kinds]
    return [sql for name in (reversed(names) if which == "drop" else names) for sql in props["objects"][name][which]]


DATA = {"database", "table", "kafka_table", "view", "rollup"}


def test_a_new_reader_password_recreates_only_the_reader() -> None:
    olds = props_for(BASE, manageReader=True, readerPassword="old")
    news = {**olds, "readerPassword": "new"}
    assert migration_plan(olds, news) == statements(news, {"access"}, "create")
    assert migration_plan(olds, {**news, "manageReader": False}) == []
    assert migration_plan(olds, olds) == []
    unmanaged_default = {key: value for key, value in news.items() if key != "manageReader"}
    assert migration_plan(olds, unmanaged_default) == statements(news, {"access"}, "create")  # managed by default


def test_an_allowed_destructive_change_drops_every_data_object_then_creates_them() -> None:
    olds = props_for(BASE)
    news = props_for(replace(BASE, shape=ReportShape(bid_size=2, ask_size=2, random_decimal=2)))
    assert migration_plan(olds, news) == statements(olds, DATA, "drop") + statements(news, DATA, "create")


def test_a_change_the_rollup_does_not_see_leaves_it_alone() -> None:
    plan = migration_plan(props_for(BASE), props_for(replace(BASE, consumers=2)))
    assert plan and not [sql for sql in plan if BASE.rollup in sql]
    assert plan[0] == f"DROP VIEW IF EXISTS market.{BASE.target_view} SYNC"  # consumption stops first


def test_an_object_no_longer_declared_is_dropped_and_not_recreated() -> None:
    olds, news = props_for(BASE), props_for(BASE)
    for name in (BASE.dead_letter_view, BASE.dead_letter):
        del news["objects"][name]
        news["applyOrder"].remove(name)
    plan = migration_plan(olds, news)
    assert plan.count(f"DROP TABLE IF EXISTS market.{BASE.dead_letter} SYNC") == 1
    assert plan.count(f"DROP VIEW IF EXISTS market.{BASE.dead_letter_view} SYNC") == 1
    assert not [sql for sql in plan if sql.startswith("CREATE") and BASE.dead_letter in sql]


class RecordingDriver:
    """clickhouse-connect's `get_client` at its boundary (no ClickHouse server runs here; e2e uses a real one):
    records how it was called and what it was sent, answers the first `refusals` queries with an error."""

    def __init__(self, refusals: int = 0) -> None:
        self.connections: list[dict[str, Any]] = []
        self.sent: list[tuple[str, str]] = []
        self.refusals = refusals

    def get_client(self, **kwargs: Any) -> RecordingDriver:
        self.connections.append(kwargs)
        return self

    def query(self, sql: str) -> Any:
        self.sent.append(("query", sql))
        if self.refusals:
            self.refusals -= 1
            raise ConnectionError("Connection refused\nmore lines")
        return type("Result", (), {"result_rows": [[1, "a"], [2, "b"]]})()

    def command(self, sql: str) -> None:
        self.sent.append(("command", sql))


def test_the_provider_connects_with_the_resources_address_and_admin_login(monkeypatch) -> None:
    driver = RecordingDriver(refusals=1)
    monkeypatch.setitem(sys.modules, "clickhouse_connect", driver)
    props = {"host": "127.0.0.1", "port": 18123.0, "adminUser": "admin", "adminPassword": "pw", "waitTimeoutSeconds": 5}
    client = connect_http(props)  # refused once, answered on the retry
    assert driver.connections == 2 * [{"host": "127.0.0.1", "port": 18123, "username": "admin", "password": "pw",
                                       "connect_timeout": 3, "send_receive_timeout": 60}]  # fmt: skip
    assert driver.sent == [("query", "SELECT 1"), ("query", "SELECT 1")]
    assert client.query("SELECT x") == [(1, "a"), (2, "b")]
    client.command("CREATE DATABASE m")
    assert driver.sent[-2:] == [("query", "SELECT x"), ("command", "CREATE DATABASE m")]


def test_a_clickhouse_that_keeps_refusing_is_named_with_the_first_line_of_its_error(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "clickhouse_connect", RecordingDriver(refusals=99))
    props = {"host": "ch", "port": 8123, "adminUser": "admin", "adminPassword": "pw", "waitTimeoutSeconds": 0}
    with pytest.raises(SchemaError) as raised:
        connect_http(props)
    assert str(raised.value) == "ClickHouse at http://ch:8123 did not answer in time: Connection refused"


@pytest.mark.parametrize("password", [None, ""])
def test_a_reader_without_a_password_is_refused_never_created_with_an_empty_one(password: str | None) -> None:
    client = ChdbWithUsers([])
    props = {**schema_inputs(SchemaSpec(database=f"t_{uuid.uuid4().hex[:12]}")), "manageReader": True}
    if password is not None:
        props["readerPassword"] = password
    failures = SchemaProvider().check({}, props).failures
    assert [(f.property, f.reason) for f in failures] == [("readerPassword", NO_READER_PASSWORD)]
    with pytest.raises(SchemaError, match=r"^refused: the reader user needs a password"):
        connected(client, []).create(props)
    assert not [sql for sql in client.sent if sql.startswith("CREATE USER")]
    assert not client.sent  # refused before the first statement: nothing half-created


def test_a_statement_clickhouse_refuses_is_named_with_the_first_line_of_both() -> None:
    class Refusing:
        def command(self, sql: str) -> None:
            raise RuntimeError("Code: 62. DB::Exception: Syntax error\nStack trace: …")

    with pytest.raises(SchemaError) as raised:
        SchemaProvider(connect=lambda _props: Refusing()).create(props_for(BASE))
    assert str(raised.value) == (
        "ClickHouse refused `CREATE DATABASE IF NOT EXISTS market`: Code: 62. DB::Exception: Syntax error"
    )


def test_check_returns_the_inputs_and_names_the_spec_as_what_is_wrong(provider: SchemaProvider) -> None:
    news = props_for(BASE)
    assert provider.check({}, news).inputs == news
    bad = {**news, "spec": {**news["spec"], "retention_days": 0}}
    assert [(f.property, f.reason) for f in provider.check(news, bad).failures] == [
        ("spec", "retention 0 days not accepted: expected 1 to 3650")
    ]


def test_the_spec_read_back_keeps_its_shape() -> None:
    spec = SchemaSpec(shape=ReportShape(bid_size=3, ask_size=7, random_decimal=2))
    assert spec_from(props_for(spec)) == spec


def test_a_change_to_the_readers_grants_alone_recreates_only_the_reader() -> None:
    """A release that grants the reader one more table changes no data object: consumption is never stopped."""
    olds = props_for(BASE, manageReader=True)
    news = copy.deepcopy(olds)
    news["objects"][BASE.reader_user]["create"].append(f"GRANT SELECT ON system.parts TO {BASE.reader_user}")
    assert migration_plan(olds, news) == statements(news, {"access"}, "create")


def test_a_data_change_and_a_new_reader_password_apply_both() -> None:
    olds = props_for(BASE, manageReader=True, readerPassword="old")
    news = props_for(replace(BASE, retention_days=7), manageReader=True, readerPassword="new")
    plan = migration_plan(olds, news)
    assert plan[0] == f"DETACH TABLE market.{BASE.queue}"  # the data change comes first, whole
    assert plan[-len(statements(news, {"access"}, "create")) :] == statements(news, {"access"}, "create")
    assert f"ALTER TABLE market.{BASE.target} MODIFY TTL toDate(timestamp) + INTERVAL 7 DAY" in plan


def test_an_update_connects_with_the_new_properties() -> None:
    spec = SchemaSpec(database=f"t_{uuid.uuid4().hex[:12]}")
    olds, seen = props_for(spec), []
    provider = connected(ChdbClient(), seen)
    provider.create(olds)
    news = props_for(replace(spec, retention_days=7), port=9999)
    provider.update(spec.database, olds, news)
    assert seen[-1] is news
    provider.delete(spec.database, news)


def test_a_rollup_is_there_while_its_table_and_view_are_even_when_nothing_else_is(provider: SchemaProvider) -> None:
    spec = SchemaSpec(database=f"t_{uuid.uuid4().hex[:12]}")
    props = props_for(spec)
    provider.create(props)
    client = ChdbClient()
    for name in [n for n in props["applyOrder"] if props["objects"][n]["kind"] in {"table", "kafka_table", "view"}]:
        client.command(f"DROP TABLE IF EXISTS {spec.database}.{name}")
    assert tables(spec) == {spec.rollup, spec.rollup_view}
    present = set(provider.read(spec.database, props).outs["objects"]) - {spec.reader_user}  # kept: chdb lists none
    assert present == {spec.database, spec.rollup}
    provider.delete(spec.database, props)


def test_rows_older_than_the_retention_go_at_the_next_merge(provider: SchemaProvider) -> None:
    """The target's TTL keeps `retention_days` of reports: an older row is deleted (at the latest when its part
    merges), a recent one stays. Without the TTL every row would be kept for ever."""
    spec = SchemaSpec(database=f"t_{uuid.uuid4().hex[:12]}", shape=ReportShape(bid_size=2, ask_size=2),
                      retention_days=1)  # fmt: skip
    provider.create(props_for(spec))
    old, recent = (json.loads(message) for message in ReportFactory(spec.shape, seed=7).batch(2))
    old["timestamp"] = time.time() - 3 * 86_400
    messages = [json.dumps(report).encode() for report in (old, recent)]
    ChdbClient().insert_json_lines(f"{spec.database}.{spec.queue}", as_kafka_rows(messages))
    ChdbClient().command(f"OPTIMIZE TABLE {spec.database}.{spec.target} FINAL")
    kept = ChdbClient().query(f"SELECT toUnixTimestamp(timestamp) FROM {spec.database}.{spec.target}")
    assert [row[0] for row in kept] == [int(recent["timestamp"])]


def test_dead_letters_older_than_the_retention_go_too(provider: SchemaProvider) -> None:
    spec = SchemaSpec(database=f"t_{uuid.uuid4().hex[:12]}", shape=ReportShape(bid_size=2, ask_size=2),
                      retention_days=1)  # fmt: skip
    provider.create(props_for(spec))
    table = f"{spec.database}.{spec.dead_letter}"
    for seen_at in ("now64(3) - INTERVAL 3 DAY", "now64(3)"):
        ChdbClient().command(f"INSERT INTO {table} VALUES ({seen_at}, 'metrics_raw', 0, 1, 'x', 'Cannot parse')")
    ChdbClient().command(f"OPTIMIZE TABLE {table} FINAL")
    assert ChdbClient().query(f"SELECT count(), min(seen_at) > now64(3) - INTERVAL 1 DAY FROM {table}") == [(1, 1)]


@pytest.mark.parametrize(
    ("managed", "password", "refused"),
    [(None, "pw", False), (None, None, True), (True, "pw", False), (False, None, False)],
    ids=["managed-by-default", "managed-by-default-without-one", "managed", "not-managed"],
)
def test_the_reader_needs_a_password_exactly_when_the_stack_manages_it(
    managed: bool | None, password: str | None, refused: bool
) -> None:
    props = {**schema_inputs(BASE), **({} if managed is None else {"manageReader": managed})}
    if password is not None:
        props["readerPassword"] = password
    failures = [(f.property, f.reason) for f in SchemaProvider().check({}, props).failures]
    assert failures == ([("readerPassword", NO_READER_PASSWORD)] if refused else [])


def test_a_schema_whose_reader_is_not_managed_is_created_without_a_password(provider: SchemaProvider) -> None:
    spec = SchemaSpec(database=f"t_{uuid.uuid4().hex[:12]}")
    props = {**schema_inputs(spec), "manageReader": False}  # no readerPassword at all
    provider.create(props)
    assert spec.target in tables(spec)
    provider.delete(spec.database, props)
    assert not tables(spec)
