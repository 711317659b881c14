"""The one ClickHouse client: clickhouse-connect over ClickHouse's HTTP port. The schema provider runs statements
with it as the admin; `make verify` runs queries with it as Grafana's reader."""

from __future__ import annotations

from typing import Protocol


class SqlReader(Protocol):
    """What runs a query: verify's checks need nothing more."""

    def query(self, sql: str) -> list[tuple]: ...


class SqlClient(SqlReader, Protocol):
    """What runs a query and a statement: the schema provider's interface (chdb in the tests)."""

    def command(self, sql: str) -> None: ...


class ClickHouseClient:
    """Run a statement, run a query: the narrow interface the schema provider and verify need (chdb stands in for
    it in the tests, behind the same two methods)."""

    def __init__(self, host: str, port: int, user: str, password: str) -> None:
        import clickhouse_connect  # noqa: PLC0415 -- imported on use: the modules that hold it stay cheap to import

        self._client = clickhouse_connect.get_client(
            host=host, port=port, username=user, password=password, connect_timeout=3, send_receive_timeout=60
        )

    def command(self, sql: str) -> None:
        self._client.command(sql)

    def query(self, sql: str) -> list[tuple]:
        return [tuple(row) for row in self._client.query(sql).result_rows]
