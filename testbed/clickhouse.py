"""ClickHouse 26.x in-process (chdb) behind the provider's `SqlClient` interface.

chdb runs one embedded server per process: every test shares `shared_session()` and isolates itself
by database name. The Kafka engine does not run in chdb, so the Kafka table is replaced by a stand-in
derived from its rendered DDL: the same columns, `ENGINE = Null`, plus real columns named like the
Kafka virtual columns the views read. Inserting into it runs the production views unchanged.
"""

from __future__ import annotations

import functools
import json
import re

from chdb import session

from ddl.render import schema_objects
from ddl.spec import READER_LIMITS, SchemaSpec

# Types as ClickHouse documents the Kafka engine's virtual columns.
KAFKA_VIRTUAL_COLUMNS = {
    "_topic": "LowCardinality(String)",
    "_key": "String",
    "_offset": "UInt64",
    "_partition": "UInt64",
    "_timestamp": "Nullable(DateTime)",
    "_timestamp_ms": "Nullable(DateTime64(3))",
    "_raw_message": "String",
    "_error": "String",
}


@functools.cache
def shared_session() -> session.Session:
    return session.Session()


def kafka_stand_in(kafka_ddl: str) -> str:
    """The Kafka table's DDL with the engine replaced by Null and the virtual columns made real."""
    head, engine = re.split(r"\n\)\s*\nENGINE = Kafka", kafka_ddl, maxsplit=1)
    assert "kafka_broker_list" in engine, "expected the rendered Kafka table DDL"
    virtual = ",\n".join(f"    {name} {kind}" for name, kind in KAFKA_VIRTUAL_COLUMNS.items())
    return f"{head},\n{virtual}\n)\nENGINE = Null"


class ChdbClient:
    """The provider's narrow SQL interface on chdb; Kafka tables become their stand-ins."""

    def __init__(self) -> None:
        self._session = shared_session()

    def command(self, sql: str) -> None:
        if "ENGINE = Kafka" in sql:
            sql = kafka_stand_in(sql)
        self._session.query(sql)

    def query(self, sql: str) -> list[tuple]:
        return self.query_with_columns(sql)[1]

    def query_with_columns(self, sql: str) -> tuple[list[str], list[tuple]]:
        """Column names and rows of `sql`'s result."""
        result = json.loads(self._session.query(sql, "JSONCompact").bytes() or b'{"meta": [], "data": []}')
        return [column["name"] for column in result["meta"]], [tuple(row) for row in result["data"]]

    def format_query(self, sql: str) -> str:
        """ClickHouse's own parser on `sql` (raises on a syntax error); placeholders filled first."""
        sql = sql.replace("${reader_password}", "'placeholder'")
        literal = "'" + sql.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return self.query(f"SELECT formatQuery({literal})")[0][0]

    def insert_json_lines(self, table: str, lines: list[bytes]) -> None:
        body = b"\n".join(lines).decode()
        self._session.query(f"INSERT INTO {table} FORMAT JSONEachRow\n{body}")


def as_kafka_rows(
    messages: list[bytes], topic: str = "metrics_raw", partition: int = 0, first_offset: int = 0
) -> list[bytes]:
    """Messages as the Kafka engine would present them: payload columns plus virtual columns, at consecutive
    offsets from `first_offset` (as Kafka numbers them: a position is never reused)."""
    rows = []
    for offset, message in enumerate(messages, start=first_offset):
        virtual = {"_topic": topic, "_partition": partition, "_offset": offset, "_error": "", "_raw_message": ""}
        virtual["_timestamp_ms"] = "2026-11-28 12:00:00.000"
        rows.append(message[:-1] + b"," + json.dumps(virtual).encode()[1:])
    return rows


def apply_schema(client: ChdbClient, spec: SchemaSpec) -> None:
    """Create every schema object chdb can hold (it has no access control: the reader is left out)."""
    for obj in schema_objects(spec):
        if obj.kind != "access":
            for sql in obj.create:
                client.command(sql)


QUERY_SETTINGS = re.compile(r"\sSETTINGS\s+(\w+\s*=\s*(?:'[^']*'|[\w.]+)(?:\s*,\s*\w+\s*=\s*(?:'[^']*'|[\w.]+))*)\s*$")


class ReaderStandIn(ChdbClient):
    """Grafana's reader as ClickHouse treats it, on chdb (which keeps no users, so the profile cannot be
    created): a query's own SETTINGS are checked as ClickHouse's settings constraints check them against the
    profile (`ddl.spec.READER_LIMITS`, `readonly = 1`) — an unchanged value passes, a CONST or read-only
    setting cannot change, a CHANGEABLE_IN_READONLY one stays within MIN/MAX — and the profile's values then
    apply to the query, so the limits themselves are chdb's own (a row limit stops a query as the server does).
    """

    LIMITS = {limit.setting: limit for limit in READER_LIMITS}

    def query_with_columns(self, sql: str) -> tuple[list[str], list[tuple]]:
        match = QUERY_SETTINGS.search(sql)
        own = dict(_assignment(part) for part in match[1].split(",")) if match else {}
        for name, value in own.items():
            self._check(name, value)
        profile = {name: str(limit.value) for name, limit in self.LIMITS.items()}
        merged = {**profile, **own}
        body = sql[: match.start()] if match else sql
        clause = ", ".join(f"{name} = {_literal(value)}" for name, value in merged.items())
        return super().query_with_columns(f"{body} SETTINGS {clause}")

    def _check(self, name: str, value: str) -> None:
        limit = self.LIMITS.get(name)
        current = "1" if name == "readonly" else (str(limit.value) if limit else None)
        if value == current:
            return  # ClickHouse does not check a setting whose value does not change
        if limit is None or limit.lowest is None:
            if limit is not None:
                raise RuntimeError(f"Code: 452. DB::Exception: Setting {name} should not be changed. "
                                   "(SETTING_CONSTRAINT_VIOLATION)")  # fmt: skip
            raise RuntimeError(f"Code: 164. DB::Exception: Cannot modify '{name}' setting in readonly mode. (READONLY)")
        number = float(value)
        if number < limit.lowest:
            raise RuntimeError(f"Code: 452. DB::Exception: Setting {name} shouldn't be less than {limit.lowest}. "
                               "(SETTING_CONSTRAINT_VIOLATION)")  # fmt: skip
        if number > float(limit.value):
            raise RuntimeError(f"Code: 452. DB::Exception: Setting {name} shouldn't be greater than {limit.value}. "
                               "(SETTING_CONSTRAINT_VIOLATION)")  # fmt: skip


def _assignment(text: str) -> tuple[str, str]:
    name, _, value = text.partition("=")
    return name.strip(), value.strip().strip("'")


def _literal(value: str) -> str:
    return value if re.fullmatch(r"[\d.]+", value) else f"'{value}'"
