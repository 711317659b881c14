"""The schema's DDL, rendered from the templates in `sql/` and one `SchemaSpec`.

`python -m ddl.render` prints the statements for the default settings (what `make sql` shows).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from string import Template

from ddl.spec import (
    ORDER_BY,
    READER_LIMITS,
    READER_QUOTA,
    READER_QUOTA_INTERVAL,
    TARGET_ENGINE,
    SchemaSpec,
    rollup_columns,
    target_columns,
    target_projection,
    wire_columns,
)

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"  # the templates sit at the top level (the design card)
PASSWORD_PLACEHOLDER = "'<reader password>'"


@dataclass(frozen=True)
class SchemaObject:
    """One object the schema owns, with the statements that create and drop it."""

    name: str
    kind: str  # database | kafka_table | table | view | rollup (table, backfill and view) | access
    create: tuple[str, ...]
    drop: tuple[str, ...]


# Time first (every query filters on it), then the Kafka position: what makes a message unique.
def _indent(lines: list[str]) -> str:
    return ",\n".join(f"    {line}" for line in lines)


def _render(template: str, spec: SchemaSpec) -> str:
    text = (SQL_DIR / template).read_text()
    body = "\n".join(line for line in text.splitlines() if not line.startswith("--")).strip()
    values = {
        **{name: getattr(spec, name) for name in SchemaSpec.__dataclass_fields__ if name != "shape"},
        "reader_profile": spec.reader_profile,
        "reader_limits": ", ".join(limit.clause for limit in READER_LIMITS),
        "reader_quota": spec.reader_quota,
        "reader_quota_interval": READER_QUOTA_INTERVAL,
        "reader_quota_limits": ", ".join(f"{name} = {value}" for name, value in READER_QUOTA),
        "price_type": spec.price_type,
        "wire_columns": _indent([f"{name} {kind}" for name, kind in wire_columns(spec)]),
        "target_columns": _indent([f"{name} {kind}" for name, kind in target_columns(spec)]),
        "target_projection": _indent(target_projection(spec)),
        "rollup_columns": _indent([f"{column.name} {column.stored}" for column in rollup_columns(spec)]),
        "rollup_select": rollup_select(spec),
        "order_by": ORDER_BY,
        "target_engine": TARGET_ENGINE,
        "reader_password": "${reader_password}",  # substituted only when executed
    }
    return Template(body).substitute(values)


def rollup_select(spec: SchemaSpec) -> str:
    """One row per minute of the target's rows, with the rollup's columns in order."""
    projection = _indent([column.projection() for column in rollup_columns(spec)])
    return f"SELECT\n{projection}\nFROM {spec.database}.{spec.target}\nGROUP BY minute"


def _statements(template: str, spec: SchemaSpec) -> tuple[str, ...]:
    return tuple(part.strip() for part in _render(template, spec).split(";\n") if part.strip())


def schema_objects(spec: SchemaSpec) -> list[SchemaObject]:
    """The objects in apply order; drop them in reverse."""
    db = spec.database
    return [
        SchemaObject(db, "database", _statements("01_database.sql", spec), (f"DROP DATABASE IF EXISTS {db}",)),
        _table(spec.dead_letter, "table", "05_dead_letter.sql", spec),
        _table(spec.target, "table", "03_target.sql", spec),
        SchemaObject(
            spec.rollup,
            "rollup",
            _statements("08_rollup.sql", spec),
            (
                f"DROP VIEW IF EXISTS {spec.database}.{spec.rollup_view} SYNC",
                f"DROP TABLE IF EXISTS {spec.database}.{spec.rollup} SYNC",
            ),
        ),
        _table(spec.queue, "kafka_table", "02_queue.sql", spec),
        _table(spec.target_view, "view", "04_target_view.sql", spec),
        _table(spec.dead_letter_view, "view", "06_dead_letter_view.sql", spec),
        SchemaObject(
            spec.reader_user,
            "access",
            _statements("07_reader.sql", spec),
            (
                f"DROP QUOTA IF EXISTS {spec.reader_quota}",
                f"DROP USER IF EXISTS {spec.reader_user}",
                f"DROP SETTINGS PROFILE IF EXISTS {spec.reader_profile}",
            ),
        ),
    ]


def _table(name: str, kind: str, template: str, spec: SchemaSpec) -> SchemaObject:
    keyword = "VIEW" if kind == "view" else "TABLE"
    return SchemaObject(
        name, kind, _statements(template, spec), (f"DROP {keyword} IF EXISTS {spec.database}.{name} SYNC",)
    )


def render_ddl(spec: SchemaSpec) -> str:
    """All statements in apply order, each followed by `;` on its own line; the password hidden."""
    statements = [sql for obj in schema_objects(spec) for sql in obj.create]
    text = "\n;\n".join(statements) + "\n;\n"
    return Template(text).safe_substitute(reader_password=PASSWORD_PLACEHOLDER)


if __name__ == "__main__":
    argparse.ArgumentParser(
        prog="python -m ddl.render",
        description="Print the ClickHouse DDL for the default settings, in apply order (what `make sql` runs); "
        "the reader's password is a placeholder.",
    ).parse_args()
    print(render_ddl(SchemaSpec()), end="")
