"""A Pulumi dynamic resource that owns the ClickHouse schema: `pulumi-python:dynamic/clickhouse:Schema`.

One resource for the whole schema, because its objects only make sense together and must change in a
fixed order (stop consumption, alter the target, recreate the Kafka table and views, resume). Its
`objects` input maps each object name to its DDL, so `pulumi preview --diff` lists exactly which
objects change. Destructive changes are refused in `check`, so a preview already fails on them.

The provider talks to ClickHouse through `SqlClient` (run a statement, run a query): clickhouse-connect
over HTTP in production, chdb in the tests.

`SchemaProvider` is pickled into every stack's state by reference (`infra.clickhouse_schema.SchemaProvider`,
with `connect_http`): keep this module's path and those names stable, or refresh and destroy of existing
stacks fail to import them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict
from string import Template
from typing import Any, Protocol

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from generator.contract import ReportShape
from infra.provider_support import (
    DEFAULT_WAIT_TIMEOUT_S,
    FORCE_DELETE_WAIT_S,
    first_answer,
    first_line,
    forced_delete,
    wait_timeout_s,
)
from schema.render import schema_objects
from schema.spec import ORDER_BY, TARGET_ENGINE, SchemaSpec, target_columns, validate

SCHEMA_KEYS = (
    "objects", "applyOrder", "targetColumns", "orderBy", "targetEngine", "spec", "readerPassword", "manageReader",
)  # fmt: skip
FIRST_TARGET_ENGINE = "MergeTree"  # what state written before `targetEngine` existed holds
DATA_KINDS = frozenset({"database", "table", "kafka_table", "view", "rollup"})
ACCESS_KINDS = frozenset({"access"})
FORCE_HINT = "`make destroy FORCE=1` removes the stack without dropping the schema (its data goes with the volume)"
NO_READER_PASSWORD = "refused: the reader user needs a password (readerPassword is missing or empty)"


class SchemaError(Exception):
    """A failure with a one-line explanation for the person running `pulumi up`."""


class SqlClient(Protocol):
    def command(self, sql: str) -> None: ...

    def query(self, sql: str) -> list[tuple]: ...


class HttpClickHouse:
    """clickhouse-connect over ClickHouse's HTTP port."""

    def __init__(self, host: str, port: int, user: str, password: str) -> None:
        import clickhouse_connect  # noqa: PLC0415 -- imported on use: the provider module stays cheap to import

        self._client = clickhouse_connect.get_client(
            host=host, port=port, username=user, password=password, connect_timeout=3, send_receive_timeout=60
        )

    def command(self, sql: str) -> None:
        self._client.command(sql)

    def query(self, sql: str) -> list[tuple]:
        return [tuple(row) for row in self._client.query(sql).result_rows]


def connect_http(props: Mapping[str, Any]) -> SqlClient:
    """Wait (bounded by `waitTimeoutSeconds`) until ClickHouse answers, then return a client."""
    host, port = props["host"], int(props["port"])

    def answering() -> SqlClient:
        client = HttpClickHouse(host, port, props["adminUser"], props["adminPassword"])
        client.query("SELECT 1")
        return client

    def failure(reason: str) -> SchemaError:
        return SchemaError(f"ClickHouse at http://{host}:{port} did not answer in time: {reason}")

    return first_answer(answering, wait_timeout_s(props), failure)


def schema_inputs(spec: SchemaSpec) -> dict[str, Any]:
    """The resource inputs that describe `spec` (everything but connection and secrets)."""
    objects = schema_objects(spec)
    return {
        "spec": {**asdict(spec), "shape": asdict(spec.shape)},
        "applyOrder": [obj.name for obj in objects],
        "objects": {
            obj.name: {"kind": obj.kind, "create": list(obj.create), "drop": list(obj.drop)} for obj in objects
        },
        "targetColumns": [list(column) for column in target_columns(spec)],
        "orderBy": ORDER_BY,
        "targetEngine": TARGET_ENGINE,
    }


def spec_from(props: Mapping[str, Any]) -> SchemaSpec:
    """The spec back from resource properties (Pulumi hands whole numbers back as floats)."""
    fields = {key: _whole(value) for key, value in props["spec"].items() if key != "shape"}
    shape = {key: _whole(value) for key, value in props["spec"]["shape"].items()}
    return SchemaSpec(**fields, shape=ReportShape(**shape))


def _whole(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def destructive_changes(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
    """What an update from `olds` to `news` would destroy (empty when it keeps every stored row)."""
    old_spec, new_spec = spec_from(olds), spec_from(news)
    problems = []
    if old_spec.database != new_spec.database:
        problems.append(f"database renamed {old_spec.database} -> {new_spec.database}")
    if old_spec.target != new_spec.target:
        problems.append(f"target table renamed {old_spec.target} -> {new_spec.target}")
    old_columns, new_columns = dict(map(tuple, olds["targetColumns"])), dict(map(tuple, news["targetColumns"]))
    for name, kind in old_columns.items():
        if name not in new_columns:
            problems.append(f"column {name} would be dropped")
        elif new_columns[name] != kind:
            problems.append(f"column {name} would change type {kind} -> {new_columns[name]}")
    if olds["orderBy"] != news["orderBy"]:
        problems.append(f"ORDER BY would change {olds['orderBy']} -> {news['orderBy']}")
    old_engine, new_engine = olds.get("targetEngine", FIRST_TARGET_ENGINE), news["targetEngine"]
    if old_engine != new_engine:
        problems.append(f"target engine would change {old_engine} -> {new_engine}")
    old_dead, new_dead = olds["objects"].get(old_spec.dead_letter), news["objects"].get(new_spec.dead_letter)
    if old_dead and new_dead and _without_ttl(old_dead["create"]) != _without_ttl(new_dead["create"]):
        problems.append(f"dead-letter table {new_spec.dead_letter} would be recreated")
    return problems


def _without_ttl(statements: list[str]) -> list[str]:
    """DDL minus its TTL clause, which an ALTER changes in place."""
    return [re.sub(r"\nTTL [^\n]*", "", sql) for sql in statements]


def _names(props: Mapping[str, Any], kinds: frozenset[str]) -> list[str]:
    """Names of the objects `props` holds whose kind is in `kinds`, in apply order."""
    objects = props["objects"]
    return [name for name in props["applyOrder"] if name in objects and objects[name]["kind"] in kinds]


def _managed_kinds(props: Mapping[str, Any]) -> frozenset[str]:
    return DATA_KINDS | ACCESS_KINDS if props.get("manageReader", True) else DATA_KINDS


def _refusal(problem: str) -> str:
    return f"refused: {problem}; set allowDestructiveChanges to allow it (data is lost)"


def _statements_of(props: Mapping[str, Any], names: list[str], which: str) -> list[str]:
    """The `create` or `drop` statements of the named objects that `props` holds, in that order."""
    objects = props["objects"]
    return [sql for name in names if name in objects for sql in objects[name][which]]


def migration_plan(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
    """The statements that take the schema from `olds` to `news`, keeping every stored row.

    Consumption stops first (views dropped, the Kafka table detached when it stays), the target is
    altered in place, and the Kafka table and views come back last, resuming from committed offsets.
    """
    old_objects, new_objects = olds["objects"], news["objects"]
    spec, destructive = spec_from(news), bool(destructive_changes(olds, news))
    changed = [n for n in news["applyOrder"] if old_objects.get(n) != new_objects[n]]
    removed = [n for n in reversed(olds["applyOrder"]) if n in old_objects and n not in new_objects]
    data_changed = any(new_objects[n]["kind"] != "access" for n in changed) or removed
    plan: list[str] = []
    if destructive:  # allowed by the caller: the data objects start again from scratch
        plan += _statements_of(olds, _names(olds, DATA_KINDS)[::-1], "drop")
        plan += _statements_of(news, _names(news, DATA_KINDS), "create")
    elif data_changed:
        keeps_queue = spec.queue in old_objects and spec.queue not in changed
        if keeps_queue:
            plan.append(f"DETACH TABLE {spec.database}.{spec.queue}")
        # a rollup is derived from the target: rebuilt whenever its DDL changes (its create drops, creates, backfills)
        rebuilt = [n for n in changed if new_objects[n]["kind"] == "rollup"]
        plan += _statements_of(olds, _names(olds, frozenset({"view"})), "drop")
        plan += _statements_of(olds, [n for n in removed if old_objects[n]["kind"] != "view"], "drop")
        plan += _alter_target(olds, news, spec)
        if spec.queue in changed and spec.queue in old_objects:
            plan += _statements_of(olds, [spec.queue], "drop")
        if keeps_queue:
            plan.append(f"ATTACH TABLE {spec.database}.{spec.queue}")
        # in apply order: a rollup (and its backfill) is in place before the queue's views resume consumption
        creates = [n for n in _names(news, DATA_KINDS) if new_objects[n]["kind"] != "rollup" or n in rebuilt]
        plan += _statements_of(news, creates, "create")
    reader_changed = olds.get("readerPassword") != news.get("readerPassword") or any(
        new_objects[n]["kind"] == "access" for n in changed
    )
    if reader_changed and news.get("manageReader", True):
        plan += _statements_of(news, _names(news, ACCESS_KINDS), "create")
    return plan


def _alter_target(olds: Mapping[str, Any], news: Mapping[str, Any], spec: SchemaSpec) -> list[str]:
    old_names = [name for name, _ in olds["targetColumns"]]
    table = f"{spec.database}.{spec.target}"
    statements = []
    for index, (name, kind) in enumerate(news["targetColumns"]):
        if name not in old_names:
            after = news["targetColumns"][index - 1][0]
            statements.append(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {name} {kind} AFTER {after}")
    old_retention, new_retention = spec_from(olds).retention_days, spec.retention_days
    if old_retention != new_retention:
        for name, time_column in ((spec.target, "timestamp"), (spec.dead_letter, "seen_at")):
            statements.append(
                f"ALTER TABLE {spec.database}.{name} MODIFY TTL toDate({time_column}) + INTERVAL {new_retention} DAY"
            )
    return statements


def _existing_users(client: SqlClient) -> set[str] | None:
    """Names in system.users; None when the server keeps no access control (as chdb)."""
    try:
        return {row[0] for row in client.query("SELECT name FROM system.users")}
    except Exception:  # no access storage: nothing to compare against
        return None


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class SchemaProvider(ResourceProvider):
    """Create, diff, update, read and delete the schema. `connect` opens a `SqlClient` from the inputs."""

    def __init__(self, connect: Callable[[Mapping[str, Any]], SqlClient] = connect_http) -> None:
        super().__init__()
        self._connect = connect

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = [CheckFailure("spec", problem) for problem in validate(spec_from(news))]
        if news.get("manageReader", True) and not news.get("readerPassword"):
            failures.append(CheckFailure("readerPassword", NO_READER_PASSWORD))
        if olds and not failures and not news.get("allowDestructiveChanges", False):
            failures += [CheckFailure("objects", _refusal(problem)) for problem in destructive_changes(olds, news)]
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [key for key in SCHEMA_KEYS if olds.get(key) != news.get(key)]
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        names = _names(props, _managed_kinds(props))
        self._run(self._connect(props), _statements_of(props, names, "create"), props)
        return CreateResult(id_=spec_from(props).database, outs=dict(props))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        if not news.get("allowDestructiveChanges", False) and (problems := destructive_changes(olds, news)):
            raise SchemaError(_refusal(problems[0]))
        self._run(self._connect(news), migration_plan(olds, news), news)
        return UpdateResult(outs=dict(news))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Drop every object. A ClickHouse that never answers fails the destroy with the way out named; under
        `make destroy FORCE=1` its schema is left to go with its container and volumes."""
        names = _names(props, _managed_kinds(props))[::-1]
        force = forced_delete()
        try:
            client = self._connect({**props, "waitTimeoutSeconds": FORCE_DELETE_WAIT_S} if force else props)
        except SchemaError as error:
            if force:
                return
            raise SchemaError(f"{error}; if it is gone for good, {FORCE_HINT}") from None
        self._run(client, _statements_of(props, names, "drop"), props)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Report which objects still exist; an object dropped by hand disappears from `objects`."""
        client = self._connect(props)
        spec = spec_from(props)
        existing = {
            row[0] for row in client.query(f"SELECT name FROM system.tables WHERE database = {_quote(spec.database)}")
        }
        databases = {row[0] for row in client.query("SELECT name FROM system.databases")}
        users = _existing_users(client)

        def exists(name: str, kind: str) -> bool:
            if kind == "access":
                return users is None or name in users
            if kind == "rollup":  # the table and the view that feeds it
                return {name, spec.rollup_view} <= existing
            return name in (databases if kind == "database" else existing)

        present = {name: obj for name, obj in props["objects"].items() if exists(name, obj["kind"])}
        outs = {**props, "objects": present}
        return ReadResult(id_=id_ if spec.database in databases else "", outs=outs, inputs=outs)

    @staticmethod
    def _run(client: SqlClient, statements: list[str], props: Mapping[str, Any]) -> None:
        needs_password = any("${reader_password}" in sql for sql in statements)
        if needs_password and not props.get("readerPassword"):
            raise SchemaError(NO_READER_PASSWORD)  # never a reader with an empty password
        password = _quote(props.get("readerPassword") or "")
        for sql in statements:
            try:
                client.command(Template(sql).safe_substitute(reader_password=password))
            except Exception as error:
                raise SchemaError(f"ClickHouse refused `{sql.splitlines()[0]}`: {first_line(error)}") from None


class Schema(Resource, module="clickhouse", name="Schema"):
    """The pipeline's ClickHouse schema as one resource."""

    def __init__(
        self,
        resource_name: str,
        spec: SchemaSpec,
        host: pulumi.Input[str],
        port: pulumi.Input[int],
        admin_user: pulumi.Input[str],
        admin_password: pulumi.Input[str],
        reader_password: pulumi.Input[str],
        allow_destructive_changes: bool = False,
        wait_timeout_seconds: int = DEFAULT_WAIT_TIMEOUT_S,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        problems = validate(spec)
        if problems:
            raise SchemaError("; ".join(problems))
        props = {
            **schema_inputs(spec),
            "host": host,
            "port": port,
            "adminUser": admin_user,
            "adminPassword": pulumi.Output.secret(admin_password),
            "readerPassword": pulumi.Output.secret(reader_password),
            "manageReader": True,
            "allowDestructiveChanges": allow_destructive_changes,
            "waitTimeoutSeconds": wait_timeout_seconds,
        }
        super().__init__(SchemaProvider(), resource_name, props, opts)
