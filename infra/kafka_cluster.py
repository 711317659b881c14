"""Kafka 3.9 in ZooKeeper mode: 1 to 3 brokers and the one-shot job that creates the topic.

The apache/kafka image applies none of its KRaft defaults once `KAFKA_ZOOKEEPER_CONNECT` is set, so every
setting is written out here. Each broker has two listeners: INTERNAL for containers on the stack's
network, EXTERNAL published on the bind address for programs on the host.
"""

from __future__ import annotations

import shlex

import pulumi
import pulumi_docker as docker

from infra.containers import ContainerSpec, Health, Platform, data_volume, pinned_image, service_container
from infra.settings import INTERNAL_KAFKA_PORT, Settings
from infra.zookeeper import ZooKeeper

EXTERNAL_KAFKA_PORT = 29092
LOG_DIR = "/var/lib/kafka/data"  # exists in the image, owned by its user (uid 1000)
TOOLS = "/opt/kafka/bin"


class KafkaCluster(pulumi.ComponentResource):
    def __init__(self, platform: Platform, zookeeper: ZooKeeper, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pipelining-data:services:KafkaCluster", "kafka", None, opts)
        settings = platform.settings
        self.image = pinned_image("kafka", settings["kafkaImage"], parent=self)
        self.brokers = [self._broker(platform, zookeeper, index) for index in range(1, settings["kafkaBrokers"] + 1)]
        self.topic_job = self._create_topic(platform)
        self.bootstrap_servers = ",".join(settings.bootstrap_servers)
        self.host_bootstrap_servers = ",".join(f"{settings.client_host}:{port}" for port in settings.broker_host_ports)
        self.register_outputs({"bootstrapServers": self.bootstrap_servers, "topic": settings["topic"]})

    def _broker(self, platform: Platform, zookeeper: ZooKeeper, index: int) -> docker.Container:
        settings = platform.settings
        name = f"kafka-{index}"
        host_port = settings.host_ports.broker(index)
        replication = settings.replication_factor
        heap_mb = settings.memory_mb("kafka") // 2
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
            "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",  # the topic job creates it with the right partitions
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
                health=Health(
                    f"{TOOLS}/kafka-broker-api-versions.sh --bootstrap-server localhost:{INTERNAL_KAFKA_PORT}"
                    " > /dev/null",
                    interval_s=10,
                    timeout_s=20,
                    start_period_s=30,
                ),
            ),
            parent=self,
            depends_on=[zookeeper.container],
        )

    def _create_topic(self, platform: Platform) -> docker.Container:
        """A one-shot container: creates the topic, or grows its partitions to the configured count."""
        settings = platform.settings
        return service_container(
            platform,
            ContainerSpec(
                service="kafka-topic-setup",
                image_id=self.image.image_id,
                memory_mb=256,
                health=None,
                envs={"KAFKA_HEAP_OPTS": "-Xmx128m"},
                command=["bash", "-c", topic_script(settings)],
                restart="no",
                one_shot=True,
            ),
            parent=self,
            depends_on=self.brokers,
        )


def topic_script(settings: Settings) -> str:
    """Idempotent: create the topic if missing, then raise its partition count if it is lower."""
    kafka_topics = f"{TOOLS}/kafka-topics.sh --bootstrap-server {','.join(settings.bootstrap_servers)}"
    name, partitions, replication = (
        shlex.quote(settings["topic"]),
        settings["topicPartitions"],
        settings.replication_factor,
    )
    return (
        "set -euo pipefail; "
        f"{kafka_topics} --create --if-not-exists --topic {name} "
        f"--partitions {partitions} --replication-factor {replication}; "
        f"current=$({kafka_topics} --describe --topic {name} | grep -c 'Partition: '); "
        f'if [ "$current" -lt {partitions} ]; then '
        f"{kafka_topics} --alter --topic {name} --partitions {partitions}; fi; "
        f"{kafka_topics} --describe --topic {name}"
    )
