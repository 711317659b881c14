"""The whole stack, in dependency order; each service lives in its own module."""

from __future__ import annotations

import dataclasses

import pulumi

from infra.clickhouse_server import ClickHouse
from infra.containers import stack_platform
from infra.data_generator import DataGenerator
from infra.grafana_objects import GrafanaObjects
from infra.grafana_server import Grafana
from infra.kafka_cluster import KafkaCluster
from infra.kafka_ui import KafkaUi
from infra.settings import load_settings
from infra.zookeeper import ZooKeeper


def deploy() -> None:
    settings = load_settings()
    if settings.config.platform == "kubernetes":
        from infra.kubernetes.stack import deploy_kubernetes  # noqa: PLC0415 (the Docker path never imports it)

        deploy_kubernetes(settings)
        return
    platform = stack_platform(settings)
    zookeeper = ZooKeeper(platform) if settings.config.kafkaMode == "zookeeper" else None
    kafka = KafkaCluster(platform, zookeeper)
    kafka_ui = KafkaUi(platform, kafka)
    clickhouse = ClickHouse(platform, kafka)
    grafana = Grafana(platform)
    DataGenerator(platform, kafka)
    objects = GrafanaObjects(platform, grafana, clickhouse, kafka_ui.url)

    pulumi.export("grafanaUrl", grafana.url)
    pulumi.export("grafanaAdminUser", grafana.admin_user)
    pulumi.export("grafanaAdminPassword", grafana.admin_password)
    pulumi.export("dashboardUrl", objects.dashboard_url)
    pulumi.export("kafkaUiUrl", kafka_ui.url)
    pulumi.export("kafkaUiUser", kafka_ui.user)
    pulumi.export("kafkaUiPassword", kafka_ui.password)
    pulumi.export("kafkaBootstrapServers", kafka.host_bootstrap_servers)
    pulumi.export("clickhouseUrl", clickhouse.url)
    pulumi.export("clickhouseAdminUser", clickhouse.admin_user)
    pulumi.export("clickhouseAdminPassword", clickhouse.admin_password)
    pulumi.export("clickhouseReaderUser", clickhouse.reader_user)
    pulumi.export("clickhouseReaderPassword", clickhouse.reader_password)
    pulumi.export("clickhouseDatabase", clickhouse.database)
    # what `make verify` checks the running stack against
    pulumi.export("kafkaMode", kafka.mode)
    pulumi.export("kafkaTopic", settings.config.topic)
    pulumi.export("kafkaTopicPartitions", settings.config.topicPartitions)
    pulumi.export("kafkaReplicationFactor", settings.replication_factor)
    pulumi.export("schemaSpec", dataclasses.asdict(clickhouse.spec))
    pulumi.export("grafanaDatasourceUid", objects.datasource.uid)
    pulumi.export("midPriceThreshold", settings.config.midPriceThreshold)
    pulumi.export("reportIntervalSeconds", settings.config.reportIntervalSeconds)
