"""The "Market data" dashboard as plain data, serialized canonically.

Plain dictionaries rather than grafana-foundation-sdk: eight panels do not need a generated SDK whose
releases follow Grafana's, and the JSON stays readable in a preview diff. The provider strips `id` and
`version`; `uid` is ours, and keys are sorted so the same settings give byte-identical JSON.
"""

from __future__ import annotations

import json
from typing import Any

from dashboards.queries import Query, dashboard_queries
from infra.schema_sql import SchemaSpec

DASHBOARD_UID = "pipelining-data-market"
PLUGIN_ID = "grafana-clickhouse-datasource"
PANEL_WIDTH = {"timeseries": 12, "stat": 6, "table": 24}
PANEL_HEIGHT = {"timeseries": 8, "stat": 4, "table": 6}
GRID_COLUMNS = 24


def datasource_ref(datasource_uid: str) -> dict[str, str]:
    return {"type": PLUGIN_ID, "uid": datasource_uid}


def target(query: Query, datasource_uid: str) -> dict[str, Any]:
    return {
        "refId": "A",
        "datasource": datasource_ref(datasource_uid),
        "editorType": "sql",
        "format": query.format,
        "queryType": "timeseries" if query.format == 0 else "table",
        "rawSql": query.sql,
    }


def _thresholds(threshold: float | None) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    if threshold is not None:
        steps.append({"color": "red", "value": threshold})
    return {"mode": "absolute", "steps": steps}


def panel(query: Query, datasource_uid: str, grid: dict[str, int], threshold: float | None = None) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": query.unit, "thresholds": _thresholds(threshold)}
    if threshold is not None:  # draw the alert threshold as a line on the chart
        defaults["custom"] = {"thresholdsStyle": {"mode": "line"}}
    return {
        "type": query.panel,
        "title": query.title,
        "datasource": datasource_ref(datasource_uid),
        "gridPos": grid,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "targets": [target(query, datasource_uid)],
    }


def _layout(queries: list[Query]) -> list[dict[str, int]]:
    """Left to right, wrapping at the grid's width."""
    grids, x, y, row_height = [], 0, 0, 0
    for query in queries:
        width, height = PANEL_WIDTH[query.panel], PANEL_HEIGHT[query.panel]
        if x + width > GRID_COLUMNS:
            x, y, row_height = 0, y + row_height, 0
        grids.append({"x": x, "y": y, "w": width, "h": height})
        x, row_height = x + width, max(row_height, height)
    return grids


def level_variable(spec: SchemaSpec) -> dict[str, Any]:
    levels = [str(level) for level in range(1, min(spec.shape.bid_size, spec.shape.ask_size) + 1)]
    return {
        "name": "level",
        "label": "Level",
        "type": "custom",
        "query": ",".join(levels),
        "current": {"text": "1", "value": "1"},
        "options": [],
    }


def market_dashboard(spec: SchemaSpec, datasource_uid: str, threshold: float) -> dict[str, Any]:
    queries = dashboard_queries(spec)
    panels = [
        panel(query, datasource_uid, grid, threshold if index == 0 else None)
        for index, (query, grid) in enumerate(zip(queries, _layout(queries), strict=True))
    ]
    return {
        "uid": DASHBOARD_UID,
        "title": "Market data",
        "tags": ["pipelining-data"],
        "timezone": "utc",
        "refresh": "10s",
        "time": {"from": "now-15m", "to": "now"},
        "schemaVersion": 41,
        "templating": {"list": [level_variable(spec)]},
        "panels": panels,
    }


def canonical_json(document: dict[str, Any]) -> str:
    """Sorted keys and fixed indentation: the same document always gives the same bytes."""
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
