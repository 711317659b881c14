"""kafka-ui (kafbat, the maintained fork): a read-only view of the stack's cluster, behind a login.

kafbat's default is no login at all (`auth.type: DISABLED`); loopback is not per user on a shared host, and a page
in a browser can reach a local UI by DNS rebinding, so the UI always asks for a user and a generated password
(`AUTH_TYPE=LOGIN_FORM`, Spring Boot's single user). The password reaches it as a file, through Spring Boot's
config tree import, not as an environment variable. `/actuator/health` stays open for the health probe.
Sources: docs/upstream.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from core.containers import SECRETS_DIR
from infra.containers import (
    ContainerSpec,
    Health,
    Platform,
    Resources,
    jvm_heap_mb,
    pinned_image,
    service_container,
)
from infra.kafka_cluster import KafkaCluster
from infra.passwords import generated_password
from infra.settings import Settings

UI_PORT = 8080
SERVICE = "kafka-ui"
USER = "admin"
CONFIG_TREE = f"{SECRETS_DIR}/{SERVICE}/"  # each file's name is a Spring property, its content the value
PASSWORD_FILE = f"{CONFIG_TREE}spring.security.user.password"
# A login form in front of the UI (kafbat's LOGIN_FORM: `/actuator/health` stays open for the probe), its password
# read from PASSWORD_FILE. Not `optional:`: without the file the UI fails to start instead of inventing one.
LOGIN_ENVIRONMENT = {
    "AUTH_TYPE": "LOGIN_FORM",
    "SPRING_SECURITY_USER_NAME": USER,
    "SPRING_CONFIG_IMPORT": f"configtree:{CONFIG_TREE}",
}


def kafka_ui_environment(settings: Settings, bootstrap_servers: str) -> dict[str, str]:
    """kafka-ui's environment on every platform: one read-only cluster, no configuration from the UI, a login."""
    return {
        "KAFKA_CLUSTERS_0_NAME": settings.prefix,
        "KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS": bootstrap_servers,
        "KAFKA_CLUSTERS_0_READONLY": "true",
        "DYNAMIC_CONFIG_ENABLED": "false",
        "JAVA_OPTS": f"-Xmx{jvm_heap_mb(settings.config.kafkaUiMemoryMb)}m",
        **LOGIN_ENVIRONMENT,  # the password itself is a file under CONFIG_TREE (a container upload, a Secret volume)
    }


@dataclass(frozen=True)
class KafkaUiArgs:
    resources: Resources
    host_port: int
    environment: Mapping[str, str]  # `kafka_ui_environment`: the same on every platform


class KafkaUi(pulumi.ComponentResource):
    def __init__(
        self, platform: Platform, args: KafkaUiArgs, kafka: KafkaCluster, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pipelining-data:services:KafkaUi", "kafka-ui", None, opts)
        image = pinned_image("kafka-ui", args.resources.image, parent=self)
        self.user = USER
        self.password = generated_password("kafka-ui-password", parent=self)
        self.container = service_container(
            platform,
            ContainerSpec(
                service=SERVICE,
                image_id=image.image_id,
                memory_mb=args.resources.memory_mb,
                cpus=args.resources.cpus,
                envs=dict(args.environment),
                files={PASSWORD_FILE: self.password},
                ports=[(UI_PORT, args.host_port)],
                health=Health.http(UI_PORT, "/actuator/health", start_period_s=30),
                wait=False,  # nothing waits for the UI
            ),
            parent=self,
            depends_on=kafka.brokers,
        )
        self.url = platform.url(args.host_port)
        self.register_outputs({"url": self.url, "user": USER})
