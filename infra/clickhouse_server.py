"""ClickHouse 26.3 LTS and the schema it serves (the `Schema` dynamic resource, applied once it is healthy)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from ddl.spec import SchemaSpec
from infra.clickhouse_schema import Schema
from infra.containers import (
    ContainerSpec,
    Health,
    Platform,
    Resources,
    data_volume,
    pinned_image,
    secret_file,
    service_container,
)
from infra.kafka_cluster import KafkaCluster
from infra.passwords import generated_password

SERVICE = "clickhouse"  # container alias on the stack's network: how Grafana reaches it
HTTP_PORT = 8123
NATIVE_PORT = 9000
ADMIN_USER = "pipeline_admin"
# The server logs to the console only when `logger.console` is set or a terminal is attached, and the image leaves
# it commented out (docs/upstream.md): without this file `docker logs` (and `make logs`) would show no error.
# Warnings and errors only: the files under /var/log/clickhouse-server keep the full trace level.
CONSOLE_LOG_FILE = "/etc/clickhouse-server/config.d/console-log.xml"
CONSOLE_LOG_CONFIG = """<clickhouse>
    <logger>
        <console>1</console>
        <console_log_level>warning</console_log_level>
    </logger>
</clickhouse>
"""
# The entrypoint reads CLICKHOUSE_PASSWORD from this file when CLICKHOUSE_PASSWORD_FILE names it (docs/upstream.md).
ADMIN_PASSWORD_FILE = secret_file(SERVICE, "admin_password")


@dataclass(frozen=True)
class ClickHouseArgs:
    resources: Resources
    host_port: int  # its HTTP interface, for the schema resource, verify and a person
    spec: SchemaSpec
    allow_destructive_changes: bool


class ClickHouse(pulumi.ComponentResource):
    def __init__(
        self, platform: Platform, args: ClickHouseArgs, kafka: KafkaCluster, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pipelining-data:services:ClickHouse", "clickhouse", None, opts)
        image = pinned_image("clickhouse", args.resources.image, parent=self)
        self.admin_user = ADMIN_USER
        self.admin_password = generated_password("clickhouse-admin-password", parent=self)
        self.reader_password = generated_password("clickhouse-reader-password", parent=self)
        self.container = service_container(
            platform,
            ContainerSpec(
                service=SERVICE,
                image_id=image.image_id,
                memory_mb=args.resources.memory_mb,
                cpus=args.resources.cpus,
                envs={
                    "CLICKHOUSE_USER": ADMIN_USER,
                    "CLICKHOUSE_PASSWORD_FILE": ADMIN_PASSWORD_FILE,  # not the password itself: docker inspect
                    "CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT": "1",  # users and grants through SQL (the reader)
                },
                ports=[(HTTP_PORT, args.host_port)],
                volumes={
                    "/var/lib/clickhouse": data_volume(platform, "clickhouse", "data", parent=self),
                    "/var/log/clickhouse-server": data_volume(platform, "clickhouse", "logs", parent=self),
                },
                files={ADMIN_PASSWORD_FILE: self.admin_password, CONSOLE_LOG_FILE: CONSOLE_LOG_CONFIG},
                root_entrypoint=True,  # entrypoint.sh writes users.d and chowns as root, then `clickhouse su`
                ulimits=[docker.ContainerUlimitArgs(name="nofile", soft=262144, hard=262144)],
                health=Health.http(HTTP_PORT, "/ping", start_period_s=15),
            ),
            parent=self,
            depends_on=kafka.brokers,
        )
        spec = args.spec
        self.schema = Schema(
            "schema",
            spec,
            host=platform.client_host,
            port=args.host_port,
            admin_user=ADMIN_USER,
            admin_password=self.admin_password,
            reader_password=self.reader_password,
            allow_destructive_changes=args.allow_destructive_changes,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.container, kafka.topic]),
        )
        self.database = spec.database
        self.spec = spec
        self.service_host = SERVICE
        self.reader_user = spec.reader_user
        self.url = platform.url(args.host_port)
        self.register_outputs({"url": self.url, "database": self.database, "readerUser": self.reader_user})
