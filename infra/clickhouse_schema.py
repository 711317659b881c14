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

from collections.abc import Callable, Mapping
from string import Template
from typing import Any

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

from core.clickhouse import ClickHouseClient, SqlClient
from ddl.migration import (
    destructive_changes,
    managed_kinds,
    migration_plan,
    object_names,
    refusal,
    schema_inputs,
    spec_from,
    statements_of,
)
from ddl.spec import SchemaSpec, validate
from infra.provider_support import (
    DEFAULT_WAIT_TIMEOUT_S,
    FORCE_DELETE_WAIT_S,
    first_answer,
    first_line,
    forced_delete,
    wait_timeout_s,
)

SCHEMA_KEYS = (
    "objects", "applyOrder", "targetColumns", "orderBy", "targetEngine", "spec", "readerPassword", "manageReader",
)  # fmt: skip
FORCE_HINT = "`make destroy FORCE=1` removes the stack without dropping the schema (its data goes with the volume)"
NO_READER_PASSWORD = "refused: the reader user needs a password (readerPassword is missing or empty)"


class SchemaError(Exception):
    """A failure with a one-line explanation for the person running `pulumi up`."""


HttpClickHouse = ClickHouseClient  # the name the provider's `connect_http` has always used


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
        if olds and not failures and not news.get("allowDestructiveChanges"):
            failures = [CheckFailure("objects", refusal(problem)) for problem in destructive_changes(olds, news)]
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [key for key in SCHEMA_KEYS if olds.get(key) != news.get(key)]
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        names = object_names(props, managed_kinds(props))
        self._run(self._connect(props), statements_of(props, names, "create"), props)
        return CreateResult(id_=spec_from(props).database, outs=dict(props))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        if not news.get("allowDestructiveChanges") and (problems := destructive_changes(olds, news)):
            raise SchemaError(refusal(problems[0]))
        self._run(self._connect(news), migration_plan(olds, news), news)
        return UpdateResult(outs=dict(news))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Drop every object. A ClickHouse that never answers fails the destroy with the way out named; under
        `make destroy FORCE=1` its schema is left to go with its container and volumes."""
        names = object_names(props, managed_kinds(props))[::-1]
        force = forced_delete()
        try:
            client = self._connect({**props, "waitTimeoutSeconds": FORCE_DELETE_WAIT_S} if force else props)
        except SchemaError as error:
            if force:
                return
            raise SchemaError(f"{error}; if it is gone for good, {FORCE_HINT}") from None
        self._run(client, statements_of(props, names, "drop"), props)

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
