"""The "Market data" dashboard as plain data, serialized canonically.

Plain dictionaries rather than grafana-foundation-sdk: a dozen panels do not need a generated SDK whose
releases follow Grafana's, and the JSON stays readable in a preview diff. `uid` is ours, panel ids run 1..n in
reading order (alert rules link to them), and keys are sorted so the same settings give byte-identical JSON.
Each panel's size comes from its kind; the order in `dashboard_panels` fills every row of the grid.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dashboards.panels import Panel, dashboard_panels
from ddl.spec import SchemaSpec

DASHBOARD_UID = "pipelining-data-market"
DATASOURCE_UID = "pipelining-data-clickhouse"  # set explicitly: panels and alert rules refer to it
PLUGIN_ID = "grafana-clickhouse-datasource"
SIZE = {"timeseries": (12, 8), "stat": (6, 4), "table": (24, 6), "alertlist": (12, 8), "text": (12, 8)}
GRID_COLUMNS = 24


@dataclass(frozen=True)
class Links:
    """Where the dashboard's links panel points: the stack's kafka-ui and the runbook."""

    kafka_ui_url: str
    runbook_url: str


def datasource_ref(datasource_uid: str) -> dict[str, str]:
    return {"type": PLUGIN_ID, "uid": datasource_uid}


def target(panel: Panel, datasource_uid: str) -> dict[str, Any]:
    return {
        "refId": "A",
        "datasource": datasource_ref(datasource_uid),
        "editorType": "sql",
        "format": panel.format,
        "queryType": "timeseries" if panel.format == 0 else "table",
        "rawSql": panel.sql,
    }


def size(panel: Panel) -> tuple[int, int]:
    width, height = SIZE[panel.kind]  # every kind we draw has its size
    return panel.width or width, panel.height or height


def _field_config(panel: Panel) -> dict[str, Any]:
    steps = [{"color": color, "value": value} for color, value in panel.thresholds]
    defaults: dict[str, Any] = {"unit": panel.unit, "thresholds": {"mode": "absolute", "steps": steps}}
    if panel.kind == "stat":
        defaults["color"] = {"mode": "thresholds"}  # the stat turns amber/red, not only its sparkline
    if panel.threshold_line:  # the alert's threshold as a line on the chart
        defaults["custom"] = {"thresholdsStyle": {"mode": "line"}}
    return {"defaults": defaults, "overrides": []}


def panel_json(panel: Panel, panel_id: int, grid: dict[str, int], datasource_uid: str) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "gridPos": grid,
    }
    if panel.sql:
        document.update(
            datasource=datasource_ref(datasource_uid),
            fieldConfig=_field_config(panel),
            targets=[target(panel, datasource_uid)],
        )
    if panel.options:
        document["options"] = panel.options
    return document


def links_panel(links: Links) -> Panel:
    runbook = (
        f"**[Runbook]({links.runbook_url})**"
        if links.runbook_url
        else "**Runbook** (docs/runbook.md in the pipeline's repository)"
    )
    content = (
        f"**[kafka-ui]({links.kafka_ui_url})** — the topic, its partitions and the consumer group.\n\n"
        f"{runbook} — what each panel and alert means and what to do.\n\n"
        "`make verify` proves every hop of the stack; `make status` and `make logs SERVICE=…` show the containers."
    )
    return Panel(
        key="links",
        title="Links",
        kind="text",
        description="Where to look next: kafka-ui and the runbook.",
        options={"mode": "markdown", "content": content},
    )


def layout(panels: list[Panel]) -> list[dict[str, int]]:
    """Left to right, wrapping at the grid's width."""
    grids, x, y, row_height = [], 0, 0, 0
    for panel in panels:
        width, height = size(panel)
        if x + width > GRID_COLUMNS:
            x, y, row_height = 0, y + row_height, 0
        grids.append({"x": x, "y": y, "w": width, "h": height})
        x, row_height = x + width, max(row_height, height)
    return grids


def level_variable(spec: SchemaSpec) -> dict[str, Any]:
    levels = [str(level) for level in range(1, spec.mid_levels + 1)]
    return {
        "name": "level",
        "label": "Level",
        "type": "custom",
        "query": ",".join(levels),
        "current": {"text": "1", "value": "1"},
        "options": [],
    }


def all_panels(spec: SchemaSpec, threshold: float, stack: str, links: Links) -> list[Panel]:
    """The panels in reading order, the links panel beside the alert list."""
    panels = dashboard_panels(spec, threshold, stack)
    at = next(index for index, panel in enumerate(panels) if panel.kind == "alertlist") + 1
    return [*panels[:at], links_panel(links), *panels[at:]]


def panel_ids(panels: list[Panel]) -> dict[str, int]:
    """Each panel's id on the dashboard (1..n in reading order) by its key: what alert rules link to."""
    return {panel.key: index for index, panel in enumerate(panels, start=1)}


def market_dashboard(spec: SchemaSpec, panels: list[Panel], datasource_uid: str) -> dict:
    """The dashboard document for `panels` (from `all_panels`), its queries on the datasource `datasource_uid`."""
    return {
        "uid": DASHBOARD_UID,
        "title": "Market data",
        "description": "The pipeline end to end: prices, ingestion, delay, dead letters, consumers and alerts.",
        "tags": ["pipelining-data"],
        "timezone": "utc",
        "refresh": "10s",
        "time": {"from": "now-15m", "to": "now"},
        "schemaVersion": 41,
        "templating": {"list": [level_variable(spec)]},
        "panels": [
            panel_json(panel, index, grid, datasource_uid)
            for index, (panel, grid) in enumerate(zip(panels, layout(panels), strict=True), start=1)
        ],
    }


def canonical_json(document: dict[str, Any]) -> str:
    """Sorted keys and fixed indentation: the same document always gives the same bytes."""
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
