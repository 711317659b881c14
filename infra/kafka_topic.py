"""A Pulumi dynamic resource that owns the pipeline's topic: `pulumi-python:dynamic/kafka:Topic`.

Why not a one-shot `kafka-topics` container: pulumi-docker (kreuzwerker's docker_container) waits for an
attached container to stop but never checks its exit code, and a finished job stays in state, so a failed
job would neither fail `pulumi up` nor run again. A failed `create` here fails `up` with the broker's own
error and leaves nothing in state: the next `up` tries again. Growing partitions shows in the preview as
an update; shrinking (Kafka cannot) is refused in `check`, so the preview already fails on it.

The provider talks to the brokers' EXTERNAL listeners, published on the host, with kafka-python's admin
client. `TopicProvider` is pickled into the stack's state by reference: keep this module's path and the
class name stable, or refresh and destroy of existing stacks break.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from infra.provider_support import DEFAULT_WAIT_TIMEOUT_S, first_answer, first_line, wait_timeout_s

REQUEST_TIMEOUT_MS = 30_000
BOOTSTRAP_TIMEOUT_MS = 5_000  # one attempt; `connect_admin` retries until its deadline


class TopicError(Exception):
    """A failure with a one-line explanation for the person running `pulumi up`."""


class TopicAdmin(Protocol):
    def partition_count(self, name: str) -> int | None: ...  # None: no such topic

    def create(self, name: str, partitions: int, replication_factor: int) -> None: ...

    def grow(self, name: str, partitions: int) -> None: ...


class KafkaAdmin:
    """kafka-python's admin client, reduced to what the topic needs."""

    def __init__(self, bootstrap_servers: str) -> None:
        from kafka.admin import KafkaAdminClient  # noqa: PLC0415 -- imported on use: the module stays cheap to import

        self._client = KafkaAdminClient(
            bootstrap_servers=bootstrap_servers.split(","),
            request_timeout_ms=REQUEST_TIMEOUT_MS,
            bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS,
        )

    def partition_count(self, name: str) -> int | None:
        if name not in self._client.list_topics():
            return None
        (topic,) = self._client.describe_topics([name])
        return len(topic["partitions"])

    def create(self, name: str, partitions: int, replication_factor: int) -> None:
        options = {"num_partitions": partitions, "replication_factor": replication_factor}
        self._client.create_topics({name: options}, wait_for_metadata=True)

    def grow(self, name: str, partitions: int) -> None:
        self._client.create_partitions({name: partitions})


def connect_admin(props: Mapping[str, Any]) -> TopicAdmin:
    """Wait (bounded by `waitTimeoutSeconds`) until a broker answers, then return an admin client."""
    servers = props["bootstrapServers"]

    def failure(reason: str) -> TopicError:
        return TopicError(f"no Kafka broker answered at {servers}: {reason}")

    return first_answer(lambda: KafkaAdmin(servers), wait_timeout_s(props), failure)


def _cluster(props: Mapping[str, Any]) -> Any:
    """Which cluster holds the topic; state written before the topic knew it is ZooKeeper mode's."""
    return props.get("cluster", "zookeeper")


def _whole(value: Any) -> int:
    return int(value)  # the engine hands whole numbers back as floats


class TopicProvider(ResourceProvider):
    """Create, grow, read the topic. Deleting it is left to the cluster's own removal (see `delete`)."""

    def __init__(self, connect: Callable[[Mapping[str, Any]], TopicAdmin] = connect_admin) -> None:
        super().__init__()
        self._connect = connect

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        if _whole(news["partitions"]) < 1:
            failures.append(CheckFailure("partitions", f"partitions {news['partitions']} not accepted: expected >= 1"))
        same_topic = olds.get("name") == news["name"] and _cluster(olds) == _cluster(news)
        if olds and same_topic:  # a topic made anew (new name or new cluster) may take any shape
            old, new = _whole(olds["partitions"]), _whole(news["partitions"])
            if new < old:
                failures.append(
                    CheckFailure("partitions", f"refused: topic {news['name']} cannot shrink from {old} to {new}")
                )
            if _whole(olds["replicationFactor"]) != _whole(news["replicationFactor"]):
                failures.append(
                    CheckFailure(
                        "replicationFactor",
                        f"refused: the replication factor of topic {news['name']} cannot change in place "
                        f"({_whole(olds['replicationFactor'])} -> {_whole(news['replicationFactor'])})",
                    )
                )
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        keys = ("name", "partitions", "replicationFactor", "bootstrapServers")
        changed = [key for key in keys if olds.get(key) != news.get(key)]
        changed += ["cluster"] if _cluster(olds) != _cluster(news) else []
        replaces: list[str] = [
            key for key in ("name", "cluster") if key in changed
        ]  # a new cluster needs the topic anew
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        self._ensure(props)
        return CreateResult(id_=props["name"], outs=dict(props))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        self._ensure(news)
        return UpdateResult(outs=dict(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """The topic's partition count as the cluster reports it; a deleted topic reads as gone."""
        count = self._call(self._connect(props).partition_count, props["name"])
        if count is None:
            return ReadResult(id_="", outs={})
        outs = {**props, "partitions": count}
        return ReadResult(id_=id_, outs=outs, inputs=outs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Nothing: the topic's data goes with the brokers' volumes on destroy, and a renamed topic is kept."""

    def _ensure(self, props: Mapping[str, Any]) -> None:
        """Create the topic if it is missing, or grow it to `partitions`: safe to repeat."""
        name, partitions = props["name"], _whole(props["partitions"])
        admin = self._connect(props)
        existing = self._call(admin.partition_count, name)
        if existing is None:
            self._call(admin.create, name, partitions, _whole(props["replicationFactor"]))
        elif existing < partitions:
            self._call(admin.grow, name, partitions)

    @staticmethod
    def _call(operation: Callable[..., Any], *args: Any) -> Any:
        try:
            return operation(*args)
        except Exception as error:
            raise TopicError(f"Kafka refused {operation.__name__}{args}: {first_line(error)}") from None


class Topic(Resource, module="kafka", name="Topic"):
    """The pipeline's topic, created once the brokers are healthy."""

    def __init__(
        self,
        resource_name: str,
        name: str,
        cluster: pulumi.Input[str],
        partitions: int,
        replication_factor: int,
        bootstrap_servers: pulumi.Input[str],
        wait_timeout_seconds: int = DEFAULT_WAIT_TIMEOUT_S,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "name": name,
            "cluster": cluster,  # which cluster: when it is replaced (kafkaMode switch), so is the topic
            "partitions": partitions,
            "replicationFactor": replication_factor,
            "bootstrapServers": bootstrap_servers,
            "waitTimeoutSeconds": wait_timeout_seconds,
        }
        super().__init__(TopicProvider(), resource_name, props, opts)
