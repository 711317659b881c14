"""The Kafka cluster, 1 to 3 nodes, in one of two modes (`kafkaMode`), and the topic.

- `zookeeper` (the default, as the pipeline is specified): Kafka 3.9 on Confluent Platform 7.9 (cp-kafka),
  brokers coordinated by ZooKeeper. Not apache/kafka: that image formats KRaft storage on every start and
  exits on a ZooKeeper config. cp-kafka's scripts (`/etc/confluent/docker/{configure,ensure,launch}`) start
  a ZooKeeper-mode broker whenever `KAFKA_PROCESS_ROLES` is unset; they require `KAFKA_ZOOKEEPER_CONNECT`
  and `KAFKA_ADVERTISED_LISTENERS` and refuse `KAFKA_PORT`/`KAFKA_HOST`/`KAFKA_ADVERTISED_{PORT,HOST}`.
- `kraft`: Kafka 4 on apache/kafka, every node both broker and controller, no ZooKeeper. The image formats
  its storage with `CLUSTER_ID` on start; the id is generated once per stack and kept in state.

Both map every other `KAFKA_*` variable to a property. Every node has INTERNAL (containers on the stack's
network) and EXTERNAL (published on 127.0.0.1 for the host, whatever `bindAddress` says: PLAINTEXT, no
authorizer) listeners; KRaft adds CONTROLLER, on the stack's network only. Sources: docs/upstream.md.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker
import pulumi_random as random

from infra.containers import (
    ContainerSpec,
    Health,
    Platform,
    Resources,
    data_volume,
    jvm_heap_mb,
    pinned_image,
    service_container,
)
from infra.kafka_mode import ClusterMode
from infra.kafka_topic import Topic
from infra.settings import INTERNAL_KAFKA_PORT, Settings, broker_name
from infra.zookeeper import ZooKeeper

EXTERNAL_KAFKA_PORT = 29092
CONTROLLER_PORT = 9093
LOG_DIR = "/var/lib/kafka/data"  # created in both images, owned by their user `appuser`
PROBE_HEAP_MB = 64
# Kafka's tools start a JVM with $KAFKA_HEAP_OPTS, which the probe inherits from the broker's environment:
# give it a heap of its own and a JIT that starts fast, so it fits beside the broker in the memory limit.
PROBE_JVM = (
    f"KAFKA_HEAP_OPTS=-Xmx{PROBE_HEAP_MB}m KAFKA_OPTS= "
    "KAFKA_JVM_PERFORMANCE_OPTS='-XX:+UseSerialGC -XX:TieredStopAtLevel=1'"
)
# A JVM's footprint beyond its heap (metaspace, code cache, threads, direct buffers), allowed for each of
# the broker and the probe when checking that both fit in the container's memory limit.
JVM_OVERHEAD_MB = 160


@dataclass(frozen=True)
class Flavour:
    """What differs between the two images."""

    api_versions_tool: str  # for the health probe
    volume_purpose: str  # part of the data volume's name: a new mode never mounts the other's data


FLAVOURS = {
    "zookeeper": Flavour("/usr/bin/kafka-broker-api-versions", "data"),  # cp-kafka: no .sh
    "kraft": Flavour("/opt/kafka/bin/kafka-broker-api-versions.sh", "kraft-data"),
}


@dataclass(frozen=True)
class TopicArgs:
    name: str
    partitions: int
    replication_factor: int


@dataclass(frozen=True)
class KafkaArgs:
    """The cluster as the settings describe it: its mode and image, each node's environment (`node_environment`)
    and published port, and the topic."""

    mode: str
    resources: Resources  # per node
    node_environments: tuple[Mapping[str, str], ...]  # node 1..n, without the KRaft cluster id (from state)
    host_ports: tuple[int, ...]  # node 1..n's EXTERNAL listener on the host
    advertised_host: str  # where the EXTERNAL listeners are published: loopback (docs/security.md)
    bootstrap_servers: str  # the INTERNAL listeners, as the stack's containers reach them
    topic: TopicArgs
    allow_destructive_changes: bool  # a mode switch starts the cluster's data anew


def node_environment(settings: Settings, index: int, zookeeper_connect: str | None) -> dict[str, str]:
    """Node `index`'s environment in the settings' mode (ZooKeeper mode when `zookeeper_connect` is given)."""
    mode_env = zookeeper_env(settings, index, zookeeper_connect) if zookeeper_connect else kraft_env(settings, index)
    return {**cluster_env(settings), **mode_env}


def broker_probe(tool: str, port: int) -> str:
    return f"{PROBE_JVM} {tool} --bootstrap-server localhost:{port} > /dev/null"


def kraft_cluster_id(random_hex: str) -> str:
    """A Kafka cluster id (a UUID as 22 characters of URL-safe base64) from 16 random bytes. The top bit of
    the first byte is cleared so the id never starts with '-' (Kafka's own `Uuid.randomUuid` avoids that too:
    it would read as an option on a command line)."""
    raw = bytearray(bytes.fromhex(random_hex))
    raw[0] &= 0x7F
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


def listeners_env(settings: Settings, index: int, with_controller: bool) -> dict[str, str]:
    name, host_port = broker_name(index), settings.host_ports.broker(index)
    listeners = [f"INTERNAL://0.0.0.0:{INTERNAL_KAFKA_PORT}", f"EXTERNAL://0.0.0.0:{EXTERNAL_KAFKA_PORT}"]
    protocols = ["INTERNAL:PLAINTEXT", "EXTERNAL:PLAINTEXT"]
    if with_controller:
        listeners.append(f"CONTROLLER://0.0.0.0:{CONTROLLER_PORT}")
        protocols.append("CONTROLLER:PLAINTEXT")
    return {
        "KAFKA_LISTENERS": ",".join(listeners),
        # clients are never told about the controller listener
        "KAFKA_ADVERTISED_LISTENERS": (
            f"INTERNAL://{name}:{INTERNAL_KAFKA_PORT},EXTERNAL://{settings.kafka_host}:{host_port}"
        ),
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": ",".join(protocols),
        "KAFKA_INTER_BROKER_LISTENER_NAME": "INTERNAL",
    }


def cluster_env(settings: Settings) -> dict[str, str]:
    """What every node of either mode shares: replication from the node count, no auto-created topics."""
    replication = settings.replication_factor
    heap_mb = jvm_heap_mb(settings.config.kafkaMemoryMb)
    return {
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": str(replication),
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": str(replication),
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": str(settings.min_insync_replicas),
        "KAFKA_DEFAULT_REPLICATION_FACTOR": str(replication),
        "KAFKA_MIN_INSYNC_REPLICAS": str(settings.min_insync_replicas),
        "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
        "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",  # the topic resource creates it with the right partitions
        "KAFKA_LOG_DIRS": LOG_DIR,
        "KAFKA_HEAP_OPTS": f"-Xms{heap_mb}m -Xmx{heap_mb}m",
    }


def zookeeper_env(settings: Settings, index: int, zookeeper_connect: str) -> dict[str, str]:
    return {
        "KAFKA_BROKER_ID": str(index),
        "KAFKA_ZOOKEEPER_CONNECT": zookeeper_connect,
        **listeners_env(settings, index, with_controller=False),
    }


def kraft_env(settings: Settings, index: int) -> dict[str, str]:
    voters = ",".join(f"{n}@{broker_name(n)}:{CONTROLLER_PORT}" for n in range(1, settings.config.kafkaBrokers + 1))
    replication = settings.replication_factor
    return {
        "KAFKA_NODE_ID": str(index),
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": voters,  # static voters: the image's storage format needs nothing more
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        # Kafka 4's share-group state topic defaults to replication 3, min ISR 2, like the others
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": str(replication),
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR": str(settings.min_insync_replicas),
        **listeners_env(settings, index, with_controller=True),
    }


class KafkaCluster(pulumi.ComponentResource):
    def __init__(
        self,
        platform: Platform,
        args: KafkaArgs,
        zookeeper: ZooKeeper | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("pipelining-data:services:KafkaCluster", "kafka", None, opts)
        self.mode = args.mode
        flavour = FLAVOURS[self.mode]
        # registered first: a refused mode switch stops `up` before any node or volume is touched
        guard = ClusterMode("kafka-mode", self.mode, args.allow_destructive_changes,
                            opts=pulumi.ResourceOptions(parent=self))  # fmt: skip
        self.image = pinned_image("kafka", args.resources.image, parent=self)
        self.cluster_id = self._cluster_id() if self.mode == "kraft" else None
        self.brokers = [
            self._node(platform, args, flavour, index, zookeeper, guard) for index in range(1, len(args.host_ports) + 1)
        ]
        self.bootstrap_servers = args.bootstrap_servers
        self.host_bootstrap_servers = ",".join(f"{args.advertised_host}:{port}" for port in args.host_ports)
        self.topic = self._topic(args.topic)
        self.register_outputs({"bootstrapServers": self.bootstrap_servers, "topic": args.topic.name})

    def _cluster_id(self) -> pulumi.Output[str]:
        """Generated on the first `up` of a KRaft stack and kept in its state: never changes afterwards."""
        generated = random.RandomId("kafka-cluster-id", byte_length=16, opts=pulumi.ResourceOptions(parent=self))
        return generated.hex.apply(kraft_cluster_id)

    def _node(
        self,
        platform: Platform,
        args: KafkaArgs,
        flavour: Flavour,
        index: int,
        zookeeper: ZooKeeper | None,
        guard: ClusterMode,
    ) -> docker.Container:
        name = broker_name(index)
        envs: dict[str, pulumi.Input[str]] = {**args.node_environments[index - 1]}
        if self.cluster_id is not None:
            envs["CLUSTER_ID"] = self.cluster_id
        volume = data_volume(platform, name, flavour.volume_purpose, parent=self, depends_on=[guard])
        return service_container(
            platform,
            ContainerSpec(
                service=name,
                image_id=self.image.image_id,
                memory_mb=args.resources.memory_mb,
                cpus=args.resources.cpus,
                envs=envs,
                ports=[(EXTERNAL_KAFKA_PORT, args.host_ports[index - 1])],
                bind_address=args.advertised_host,  # never bindAddress: PLAINTEXT, no authorizer
                volumes={LOG_DIR: volume},
                health=Health(
                    broker_probe(flavour.api_versions_tool, INTERNAL_KAFKA_PORT),
                    interval_s=15,
                    timeout_s=20,
                    start_period_s=30,
                ),
            ),
            parent=self,
            depends_on=[guard, *([zookeeper.container] if zookeeper is not None else [])],
        )

    def _topic(self, topic: TopicArgs) -> Topic:
        """Created through the EXTERNAL listeners once every node is healthy."""
        return Topic(
            "topic",
            name=topic.name,
            cluster=self.cluster_id.apply(lambda cluster_id: f"kraft:{cluster_id}") if self.cluster_id else self.mode,
            partitions=topic.partitions,
            replication_factor=topic.replication_factor,
            bootstrap_servers=self.host_bootstrap_servers,
            opts=pulumi.ResourceOptions(parent=self, depends_on=self.brokers),
        )
