"""kafka-ui (kafbat, the maintained fork): a read-only view of the stack's cluster."""

from __future__ import annotations

import pulumi

from infra.containers import ContainerSpec, Health, Platform, jvm_heap_mb, pinned_image, service_container
from infra.kafka_cluster import KafkaCluster
from infra.settings import Settings

UI_PORT = 8080


def kafka_ui_environment(settings: Settings, bootstrap_servers: str) -> dict[str, str]:
    """kafka-ui's environment on every platform: one read-only cluster, no configuration from the UI."""
    return {
        "KAFKA_CLUSTERS_0_NAME": settings.prefix,
        "KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS": bootstrap_servers,
        "KAFKA_CLUSTERS_0_READONLY": "true",
        "DYNAMIC_CONFIG_ENABLED": "false",
        "JAVA_OPTS": f"-Xmx{jvm_heap_mb(settings.memory_mb('kafkaUi'))}m",
    }


class KafkaUi(pulumi.ComponentResource):
    def __init__(self, platform: Platform, kafka: KafkaCluster, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pipelining-data:services:KafkaUi", "kafka-ui", None, opts)
        settings = platform.settings
        image = pinned_image("kafka-ui", settings.config.kafkaUiImage, parent=self)
        self.container = service_container(
            platform,
            ContainerSpec(
                service="kafka-ui",
                image_id=image.image_id,
                memory_mb=settings.memory_mb("kafkaUi"),
                envs=kafka_ui_environment(settings, kafka.bootstrap_servers),
                ports=[(UI_PORT, settings.host_ports.kafka_ui)],
                health=Health.http(UI_PORT, "/actuator/health", start_period_s=30),
                wait=False,  # nothing waits for the UI
            ),
            parent=self,
            depends_on=kafka.brokers,
        )
        self.url = f"http://{settings.client_host}:{settings.host_ports.kafka_ui}"
        self.register_outputs({"url": self.url})
