"""Kafka 3.9 in ZooKeeper mode on Confluent Platform 7.9 (cp-kafka): 1 to 3 brokers and the topic.

Why cp-kafka and not apache/kafka: the apache/kafka image formats KRaft storage on every start and exits on
a ZooKeeper config; cp-kafka's own scripts (`/etc/confluent/docker/{configure,ensure,launch}`) start a
ZooKeeper-mode broker whenever `KAFKA_PROCESS_ROLES` is unset. They require `KAFKA_ZOOKEEPER_CONNECT`
and `KAFKA_ADVERTISED_LISTENERS`, refuse `KAFKA_PORT`/`KAFKA_HOST`/`KAFKA_ADVERTISED_{PORT,HOST}`, and map
every other `KAFKA_*` variable to a broker property. Sources: docs/upstream.md.

Each broker has two listeners: INTERNAL for containers on the stack's network, EXTERNAL published on the
bind address for programs on the host.
"""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from infra.containers import ContainerSpec, Health, Platform, data_volume, pinned_image, service_container
from infra.kafka_topic import Topic
from infra.settings import INTERNAL_KAFKA_PORT, Settings
from infra.zookeeper import ZooKeeper

EXTERNAL_KAFKA_PORT = 29092
LOG_DIR = "/var/lib/kafka/data"  # a VOLUME of the image, created owned by its user `appuser`
TOOLS = "/usr/bin"  # cp-kafka installs Kafka's tools there, without the `.sh` suffix
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


def broker_heap_mb(memory_mb: int) -> int:
    """Half the limit: the rest holds the broker's off-heap memory and the health probe's JVM."""
    return memory_mb // 2


def broker_probe(port: int) -> str:
    return f"{PROBE_JVM} {TOOLS}/kafka-broker-api-versions --bootstrap-server localhost:{port} > /dev/null"


class KafkaCluster(pulumi.ComponentResource):
    def __init__(self, platform: Platform, zookeeper: ZooKeeper, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pipelining-data:services:KafkaCluster", "kafka", None, opts)
        settings = platform.settings
        self.image = pinned_image("kafka", settings["kafkaImage"], parent=self)
        self.brokers = [self._broker(platform, zookeeper, index) for index in range(1, settings["kafkaBrokers"] + 1)]
        self.bootstrap_servers = ",".join(settings.bootstrap_servers)
        self.host_bootstrap_servers = ",".join(f"{settings.client_host}:{port}" for port in settings.broker_host_ports)
        self.topic = self._topic(settings)
        self.register_outputs({"bootstrapServers": self.bootstrap_servers, "topic": settings["topic"]})

    def _broker(self, platform: Platform, zookeeper: ZooKeeper, index: int) -> docker.Container:
        settings = platform.settings
        name = f"kafka-{index}"
        host_port = settings.host_ports.broker(index)
        replication = settings.replication_factor
        heap_mb = broker_heap_mb(settings.memory_mb("kafka"))
        envs = {
            "KAFKA_BROKER_ID": str(index),
            "KAFKA_ZOOKEEPER_CONNECT": zookeeper.connect,
            "KAFKA_LISTENERS": f"INTERNAL://0.0.0.0:{INTERNAL_KAFKA_PORT},EXTERNAL://0.0.0.0:{EXTERNAL_KAFKA_PORT}",
            "KAFKA_ADVERTISED_LISTENERS": (
                f"INTERNAL://{name}:{INTERNAL_KAFKA_PORT},EXTERNAL://{settings.client_host}:{host_port}"
            ),
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT",
            "KAFKA_INTER_BROKER_LISTENER_NAME": "INTERNAL",
            "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": str(replication),
            "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": str(replication),
            "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": str(min(replication, 2)),
            "KAFKA_DEFAULT_REPLICATION_FACTOR": str(replication),
            "KAFKA_MIN_INSYNC_REPLICAS": str(min(replication, 2)),
            "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
            "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",  # the topic resource creates it with the right partitions
            "KAFKA_LOG_DIRS": LOG_DIR,
            "KAFKA_HEAP_OPTS": f"-Xms{heap_mb}m -Xmx{heap_mb}m",
        }
        return service_container(
            platform,
            ContainerSpec(
                service=name,
                image_id=self.image.image_id,
                memory_mb=settings.memory_mb("kafka"),
                envs=envs,
                ports=[(EXTERNAL_KAFKA_PORT, host_port)],
                volumes={LOG_DIR: data_volume(platform, name, "data", parent=self)},
                health=Health(broker_probe(INTERNAL_KAFKA_PORT), interval_s=15, timeout_s=20, start_period_s=30),
            ),
            parent=self,
            depends_on=[zookeeper.container],
        )

    def _topic(self, settings: Settings) -> Topic:
        """Created through the EXTERNAL listeners once every broker is healthy."""
        return Topic(
            "topic",
            name=settings["topic"],
            partitions=settings["topicPartitions"],
            replication_factor=settings.replication_factor,
            bootstrap_servers=self.host_bootstrap_servers,
            opts=pulumi.ResourceOptions(parent=self, depends_on=self.brokers),
        )
