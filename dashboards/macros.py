"""The ClickHouse plugin's macros, expanded exactly as the plugin's code does (grafana/clickhouse-datasource,
pkg/macros/macros.go; tests/test_grafana_model.py).

Grafana expands these before the query reaches ClickHouse; `verify` (as the reader user, on a deployed
stack) and the tests (on chdb) run the dashboard's and the rules' SQL after the same expansion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MACRO = re.compile(r"\$__(timeFilter_ms|timeFilter|timeInterval_ms|timeInterval)\(([^()]+)\)")


@dataclass(frozen=True)
class TimeRange:
    from_ms: int
    to_ms: int
    interval_ms: int

    @property
    def interval_s(self) -> int:
        return max(1, self.interval_ms // 1000)


def expand_macros(sql: str, window: TimeRange, variables: dict[str, str] | None = None) -> str:
    for name, value in (variables or {}).items():
        sql = sql.replace(f"${{{name}}}", value)

    def function(match: re.Match[str]) -> str:
        name, column = match[1], match[2].strip()
        if name == "timeFilter_ms":
            return (f"{column} >= fromUnixTimestamp64Milli({window.from_ms}) AND "
                    f"{column} <= fromUnixTimestamp64Milli({window.to_ms})")  # fmt: skip
        if name == "timeFilter":
            return (
                f"{column} >= toDateTime({window.from_ms // 1000}) AND {column} <= toDateTime({window.to_ms // 1000})"
            )
        if name == "timeInterval_ms":
            return f"toStartOfInterval(toDateTime64({column}, 3), INTERVAL {max(1, window.interval_ms)} millisecond)"
        return f"toStartOfInterval(toDateTime({column}), INTERVAL {window.interval_s} second)"

    sql = MACRO.sub(function, sql)
    sql = sql.replace("$__interval_s", str(window.interval_s))
    sql = sql.replace("$__fromTime_ms", f"fromUnixTimestamp64Milli({window.from_ms})")
    sql = sql.replace("$__toTime_ms", f"fromUnixTimestamp64Milli({window.to_ms})")
    sql = sql.replace("$__fromTime", f"toDateTime({window.from_ms // 1000})")
    sql = sql.replace("$__toTime", f"toDateTime({window.to_ms // 1000})")
    if "$" in sql:
        raise ValueError(f"unexpanded macro or variable in: {sql}")
    return sql
