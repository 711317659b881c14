"""A Pulumi dynamic resource that remembers how the stack's Kafka cluster runs: `pulumi-python:dynamic/kafka:Mode`.

Switching `kafkaMode` (zookeeper <-> kraft) replaces every broker and its data volume: the topic and
everything not yet consumed are gone. The program cannot see the previous mode, but this resource's state
can: `check` compares it with the new one and refuses the switch, in the preview already, unless the stack
allows destructive changes. The brokers and their volumes depend on it, so nothing is replaced before.

`ModeProvider` is pickled into the stack's state by reference: keep this module's path and the class name
stable, or refresh and destroy of existing stacks break.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult


def refusal(old: str, new: str) -> str:
    return (
        f"refused: kafkaMode {old} -> {new} replaces the Kafka cluster and loses its data; "
        "set allowDestructiveSchemaChanges to allow it"
    )


class ModeProvider(ResourceProvider):
    """No action of its own: the state it keeps is what `check` compares against."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        old, new = olds.get("mode"), news["mode"]
        if old and old != new and not news.get("allowDestructiveChanges", False):
            return CheckResult(news, [CheckFailure("mode", refusal(old, new))])
        return CheckResult(news, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = olds.get("mode") != news.get("mode")
        return DiffResult(changes=changed or olds != news, replaces=["mode"] if changed else [])

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=props["mode"], outs=dict(props))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=dict(news))


class ClusterMode(Resource, module="kafka", name="Mode"):
    """The Kafka cluster's mode as of the last `up`."""

    def __init__(
        self, resource_name: str, mode: str, allow_destructive_changes: bool, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props = {"mode": mode, "allowDestructiveChanges": allow_destructive_changes}
        super().__init__(ModeProvider(), resource_name, props, opts)
