"""`make docs`: write the generated parts of Pulumi.yaml and docs/ from the tables they document.

- Pulumi.yaml's `config:` block, from `infra.settings.KEYS`;
- the configuration table (same keys) in docs/deploying.md, the generator's environment table
  (`core.generator_config.SETTINGS`) in docs/generator.md, the panel table (`dashboards.market.all_panels`) in
  docs/grafana.md;
- golden files a reviewer reads in a pull request's diff even when its preview runs against empty state:
  `docs/generated/schema.sql` (the DDL for the default settings) and `docs/generated/dashboard.json`.

`--check` writes nothing and exits 1 when a file is out of date (the tests check the same rows).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

from core.generator_config import SETTINGS
from dashboards.alerts import pipeline_rules
from dashboards.market import DATASOURCE_UID, Links, all_panels, canonical_json, market_dashboard, panel_ids
from dashboards.panels import Panel
from ddl.render import render_ddl
from ddl.spec import SchemaSpec
from infra.settings import KEYS

ROOT = Path(__file__).resolve().parent.parent


def _yaml_scalar(text: str) -> str:
    try:
        plain = yaml.safe_load(f"x: {text}")["x"] == text
    except yaml.YAMLError:
        plain = False
    return text if plain else json.dumps(text)


def pulumi_yaml(current: str) -> str:
    head = current.split("\nconfig:\n", 1)[0]
    lines = []
    for key in KEYS:
        default = key.declared_default
        if isinstance(default, bool):
            shown = "true" if default else "false"
        elif isinstance(default, int):
            shown = str(default)
        else:
            shown = json.dumps(str(default))
        lines += [f"  {key.name}:", f"    type: {key.type}", f"    default: {shown}",
                  f"    description: {_yaml_scalar(key.description)}"]  # fmt: skip
    return head + "\nconfig:\n" + "\n".join(lines) + "\n"


def _replace_rows(text: str, names: set[str], rows: list[str]) -> str:
    """Swap the table rows whose first cell is one of `names` (one contiguous block) for `rows`."""
    lines = text.splitlines()
    found = [i for i, line in enumerate(lines) if (match := re.match(r"\| `(\w+)` \|", line)) and match[1] in names]
    if not found or found[-1] - found[0] + 1 != len(found):
        raise SystemExit(f"render_docs: the rows of {sorted(names)[:3]}… are not one block of their page")
    lines[found[0] : found[-1] + 1] = rows
    return "\n".join(lines) + "\n"


def configuration_table(current: str) -> str:
    rows = []
    for key in KEYS:
        default = str(key.default).lower() if isinstance(key.default, bool) else key.default
        shown = f"`{default}`" if default != "" else "(empty)"
        rows.append(f"| `{key.name}` | {shown} | {key.accepted} | {key.description} |")
    return _replace_rows(current, {key.name for key in KEYS}, rows)


def environment_table(current: str) -> str:
    rows = [
        f"| `{s.env}` | {f'`{s.default}`' if s.default else '(unset)'} | {s.accepted} | {s.description} |"
        for s in SETTINGS
    ]
    return _replace_rows(current, {s.env for s in SETTINGS}, rows)


def panel_table(current: str) -> str:
    header = "| panel | what it shows, and what to do |\n|---|---|\n"
    start = current.index(header)
    end = current.index("\n\n", start)
    panels = all_panels(SchemaSpec(), 9.9, "dev", Links("", ""))
    return current[:start] + header + "\n".join(f"| {p.title} | {p.description} |" for p in panels) + current[end:]


def schema_sql(_current: str) -> str:
    return render_ddl(SchemaSpec())


def dashboard_json(_current: str) -> str:
    return canonical_json(market_dashboard(SchemaSpec(), default_panels(), DATASOURCE_UID))


def default_panels() -> list[Panel]:
    """The dashboard's panels for the default settings, stack `dev`, kafka-ui on its default port."""
    defaults = {key.name: key.default for key in KEYS}
    links = Links(kafka_ui_url="http://127.0.0.1:8080", runbook_url=defaults["runbookUrl"])
    return all_panels(SchemaSpec(), defaults["midPriceThreshold"], "dev", links)


def alert_rules_json(_current: str) -> str:
    """The alert rules as the program hands them to Grafana's provider (default settings, stack `dev`)."""
    defaults, spec = {key.name: key.default for key in KEYS}, SchemaSpec()
    threshold = defaults["midPriceThreshold"]
    ids = panel_ids(default_panels())
    rules = [
        {"name": rule.name, "uid": rule.uid, "for": rule.for_, "noDataState": rule.no_data_state,
         "execErrState": rule.exec_err_state, "labels": rule.labels,
         "annotations": rule.annotations(defaults["runbookUrl"], ids[rule.panel]),
         "data": [{"ref_id": stage.ref_id, "datasource_uid": stage.datasource_uid, "from": stage.relative_from_s,
                   "model": stage.model} for stage in rule.stages(DATASOURCE_UID)]}
        for rule in pipeline_rules(spec, threshold, defaults["freshnessMinutes"], "dev")
    ]  # fmt: skip
    return json.dumps(rules, indent=2, sort_keys=True) + "\n"


GENERATED = (
    ("Pulumi.yaml", pulumi_yaml),
    ("docs/deploying.md", configuration_table),
    ("docs/generator.md", environment_table),
    ("docs/grafana.md", panel_table),
    ("docs/generated/schema.sql", schema_sql),
    ("docs/generated/dashboard.json", dashboard_json),
    ("docs/generated/alert-rules.json", alert_rules_json),
)


def main(argv: list[str]) -> int:
    check = argv == ["--check"]
    stale = []
    for name, render in GENERATED:
        path = ROOT / name
        current = path.read_text() if path.exists() else ""
        wanted = render(current)
        if wanted != current:
            stale.append(name)
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(wanted)
    if check and stale:
        print(f"render_docs: out of date: {', '.join(stale)} (run `make docs`)", file=sys.stderr)
        return 1
    if not check:
        done = f"rewrote {', '.join(stale)}" if stale else f"nothing changed ({len(GENERATED)} files up to date)"
        print(f"make docs: {done}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
