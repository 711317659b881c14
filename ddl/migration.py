"""How the schema goes from one state to another without losing a stored row: the pure planner the schema's Pulumi
provider (`infra/clickhouse_schema.py`) is a thin shell around. Everything here works on the provider's properties
(what the stack's state holds) and returns data: problems in words, statements in order."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from core.contract import ReportShape
from ddl.render import schema_objects
from ddl.spec import ORDER_BY, TARGET_ENGINE, SchemaSpec, target_columns

FIRST_TARGET_ENGINE = "MergeTree"  # what state written before `targetEngine` existed holds
DATA_KINDS = frozenset({"database", "table", "kafka_table", "view", "rollup"})
ACCESS_KINDS = frozenset({"access"})


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


def object_names(props: Mapping[str, Any], kinds: frozenset[str]) -> list[str]:
    """Names of the objects `props` holds whose kind is in `kinds`, in apply order."""
    objects = props["objects"]
    return [name for name in props["applyOrder"] if name in objects and objects[name]["kind"] in kinds]


def managed_kinds(props: Mapping[str, Any]) -> frozenset[str]:
    return DATA_KINDS | ACCESS_KINDS if props.get("manageReader", True) else DATA_KINDS


def refusal(problem: str) -> str:
    return f"refused: {problem}; set allowDestructiveSchemaChanges to allow it (data is lost)"


def statements_of(props: Mapping[str, Any], names: list[str], which: str) -> list[str]:
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
        plan = [
            *statements_of(olds, object_names(olds, DATA_KINDS)[::-1], "drop"),
            *statements_of(news, object_names(news, DATA_KINDS), "create"),
        ]
    elif data_changed:
        keeps_queue = spec.queue in old_objects and spec.queue not in changed
        if keeps_queue:
            plan.append(f"DETACH TABLE {spec.database}.{spec.queue}")
        # a rollup is derived from the target: rebuilt whenever its DDL changes (its create drops, creates, backfills)
        rebuilt = [n for n in changed if new_objects[n]["kind"] == "rollup"]
        plan += statements_of(olds, object_names(olds, frozenset({"view"})), "drop")
        plan += statements_of(olds, [n for n in removed if old_objects[n]["kind"] != "view"], "drop")
        plan += _alter_target(olds, news, spec)
        if spec.queue in changed and spec.queue in old_objects:
            plan += statements_of(olds, [spec.queue], "drop")
        if keeps_queue:
            plan.append(f"ATTACH TABLE {spec.database}.{spec.queue}")
        # in apply order: a rollup (and its backfill) is in place before the queue's views resume consumption
        creates = [n for n in object_names(news, DATA_KINDS) if new_objects[n]["kind"] != "rollup" or n in rebuilt]
        plan += statements_of(news, creates, "create")
    reader_changed = olds.get("readerPassword") != news.get("readerPassword") or any(
        new_objects[n]["kind"] == "access" for n in changed
    )
    if reader_changed and news.get("manageReader", True):
        plan += statements_of(news, object_names(news, ACCESS_KINDS), "create")
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
