"""The stack's Kafka on Strimzi: a `Kafka` in KRaft mode, one dual-role `KafkaNodePool` of `kafkaBrokers`
nodes, and the `KafkaTopic`. The specs are plain dicts built from its args, validated in the tests
against Strimzi's own CRD schemas (tests/fixtures/kubernetes/strimzi-1.2.0/).

The broker properties are the Docker path's (`infra.kafka_cluster.cluster_env` and `kraft_env`: replication
from the node count, min ISR, no auto-created topics), translated from the images' `KAFKA_*` variables to the
property names Strimzi takes, minus what Strimzi sets itself (its forbidden prefixes, `KafkaClusterSpec.java`):
`broker_config`, called by the composition root (`infra/kubernetes/stack.py`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi_kubernetes.apiextensions import CustomResource

from infra.containers import jvm_heap_mb
from infra.kafka_cluster import TopicArgs
from infra.kafka_topic import TopicProvider
from infra.kubernetes.namespace import StackNamespace
from infra.kubernetes.versions import KAFKA_VERSION, STRIMZI_API
from infra.settings import INTERNAL_KAFKA_PORT, KUBERNETES_KAFKA_CLUSTER

CLUSTER_LABEL = "strimzi.io/cluster"
NODE_POOL = "dual-role"
WAIT_READY = {"pulumi.com/waitFor": "condition=Ready"}  # pulumi-kubernetes awaits the CR's Ready condition
# Strimzi's KafkaClusterSpec.FORBIDDEN_PREFIXES at 1.2.0 that our broker variables would otherwise reach:
# Strimzi sets the log directories, heap (jvmOptions), listeners and KRaft roles itself.
STRIMZI_OWNED = ("log.dir", "heap.opts", "listener", "listeners", "advertised.", "inter.broker.listener.name",
                 "node.id", "process.roles", "controller.")  # fmt: skip
OPERATOR_MEMORY_MB = 256


def property_name(variable: str) -> str:
    """`KAFKA_MIN_INSYNC_REPLICAS` -> `min.insync.replicas`, as the apache/kafka and cp-kafka images map them."""
    return variable.removeprefix("KAFKA_").lower().replace("_", ".")


def _typed(value: str) -> int | bool | str:
    if value in ("true", "false"):
        return value == "true"
    return int(value) if value.isdigit() else value


def broker_config(variables: Mapping[str, str]) -> dict[str, Any]:
    """A Docker node's `KAFKA_*` environment as the broker properties Strimzi lets a user set."""
    config = {property_name(name): _typed(value) for name, value in variables.items()}
    return {name: value for name, value in sorted(config.items()) if not name.startswith(STRIMZI_OWNED)}


@dataclasses.dataclass(frozen=True)
class StrimziArgs:
    brokers: int  # dual-role (controller and broker) nodes
    memory_mb: int  # each node's limit; the JVM heap is derived from it
    broker_config: Mapping[str, Any]  # `broker_config(...)`
    storage_gi: int  # each node's volume; 0: ephemeral
    storage_class: str  # "": the cluster's default
    keep_volumes: bool  # the volumes outlive the Kafka resource
    topic: TopicArgs
    bootstrap_servers: str  # how pods in the namespace reach the brokers (the settings' one address)


def memory(megabytes: int) -> dict[str, Any]:
    """Requests equal to limits for memory: a JVM sized to its limit is never evicted for using it."""
    return {"requests": {"memory": f"{megabytes}Mi", "cpu": "100m"}, "limits": {"memory": f"{megabytes}Mi"}}


def kafka_spec(args: StrimziArgs) -> dict[str, Any]:
    return {
        "kafka": {
            "version": KAFKA_VERSION,
            "listeners": [{"name": "plain", "port": INTERNAL_KAFKA_PORT, "type": "internal", "tls": False}],
            "config": dict(args.broker_config),
        },
        # the topic operator reconciles KafkaTopic resources; no KafkaUser is declared, so no user operator
        "entityOperator": {"topicOperator": {"resources": memory(OPERATOR_MEMORY_MB)}},
    }


def storage(args: StrimziArgs) -> dict[str, Any]:
    """One persistent volume per node (kept when the Kafka resource goes unless destructive changes are
    allowed), sharing the KRaft metadata log; kafkaStorageGi=0: ephemeral, for CI."""
    if args.storage_gi == 0:
        return {"type": "ephemeral"}
    volume: dict[str, Any] = {
        "id": 0,
        "type": "persistent-claim",
        "size": f"{args.storage_gi}Gi",
        "deleteClaim": not args.keep_volumes,
        "kraftMetadata": "shared",
    }
    if args.storage_class:
        volume["class"] = args.storage_class
    return {"type": "jbod", "volumes": [volume]}


def node_pool_spec(args: StrimziArgs) -> dict[str, Any]:
    heap = jvm_heap_mb(args.memory_mb)
    return {
        "replicas": args.brokers,
        "roles": ["controller", "broker"],
        "storage": storage(args),
        "resources": memory(args.memory_mb),
        "jvmOptions": {"-Xms": f"{heap}m", "-Xmx": f"{heap}m"},
    }


def topic_resource_name(topic: str) -> str:
    """A DNS-1123 name for the KafkaTopic resource (`metrics_raw` is not one); `spec.topicName` keeps ours."""
    return re.sub(r"[^a-z0-9.-]+", "-", topic.lower()).strip("-.")[:253] or "topic"


def topic_spec(topic: TopicArgs) -> dict[str, Any]:
    return {"topicName": topic.name, "partitions": topic.partitions, "replicas": topic.replication_factor}


class TopicShape(pulumi.dynamic.Resource, module="kafka", name="TopicShape"):
    """The topic's partitions and replication factor as of the last `up`: the Docker topic's own `check`
    refuses shrinking or a replication change in the preview; it touches no broker."""

    def __init__(
        self, resource_name: str, topic: TopicArgs, namespace: str, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props = {
            "name": topic.name,
            "cluster": f"strimzi:{namespace}/{KUBERNETES_KAFKA_CLUSTER}",
            "partitions": topic.partitions,
            "replicationFactor": topic.replication_factor,
        }
        super().__init__(ShapeProvider(), resource_name, props, opts)


class ShapeProvider(TopicProvider):
    """TopicProvider's `check`; every other operation only records the shape."""

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        return pulumi.dynamic.CreateResult(id_=str(props["name"]), outs=dict(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        changed = [key for key in news if olds.get(key) != news[key]]
        return pulumi.dynamic.DiffResult(changes=bool(changed), replaces=["name", "cluster"] if changed else [])

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        return pulumi.dynamic.UpdateResult(outs=dict(news))

    def read(self, id_: str, props: dict[str, Any]) -> pulumi.dynamic.ReadResult:
        return pulumi.dynamic.ReadResult(id_=id_, outs=dict(props))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        return None


class StrimziKafka(pulumi.ComponentResource):
    """Kafka, its node pool and the topic, in the stack's namespace; `up` waits until Kafka and the topic are
    Ready. Pulumi deletes in reverse: topic, then Kafka, then the node pool, then (if allowed) the namespace."""

    def __init__(self, args: StrimziArgs, namespace: StackNamespace, opts: pulumi.ResourceOptions | None = None):
        super().__init__("pipelining-data:kubernetes:StrimziKafka", "kafka", None, opts)
        labels = {**namespace.labels, CLUSTER_LABEL: KUBERNETES_KAFKA_CLUSTER}
        self.node_pool = CustomResource(
            "kafka-node-pool",
            api_version=STRIMZI_API,
            kind="KafkaNodePool",
            metadata={"name": NODE_POOL, "namespace": namespace.name, "labels": labels},
            spec=node_pool_spec(args),
            opts=namespace.options(self),
        )
        self.kafka = CustomResource(
            "kafka",
            api_version=STRIMZI_API,
            kind="Kafka",
            metadata={
                "name": KUBERNETES_KAFKA_CLUSTER,
                "namespace": namespace.name,
                "labels": namespace.labels,
                "annotations": {**WAIT_READY, "pipelining-data/strimzi-version": namespace.strimzi_version},
            },
            spec=kafka_spec(args),
            opts=namespace.options(self, [self.node_pool]).merge(
                pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(create="20m", update="20m"))
            ),
        )
        shape = TopicShape("topic-shape", args.topic, namespace.name, opts=pulumi.ResourceOptions(parent=self))
        self.topic = CustomResource(
            "kafka-topic",
            api_version=STRIMZI_API,
            kind="KafkaTopic",
            metadata={
                "name": topic_resource_name(args.topic.name),
                "namespace": namespace.name,
                "labels": labels,
                "annotations": WAIT_READY,
            },
            spec=topic_spec(args.topic),
            opts=namespace.options(self, [self.kafka, shape]),
        )
        self.bootstrap_servers = args.bootstrap_servers
        self.register_outputs({"bootstrapServers": self.bootstrap_servers})
