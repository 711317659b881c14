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

from schema.render import schema_objects
from schema.spec import SchemaSpec

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
