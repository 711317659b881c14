"""The composition root: the only place that turns the settings into what each component is given (typed args,
one dataclass each), then builds the stack in dependency order. Each service lives in its own module and reads
nothing but its args and the components it stands on."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pulumi

from core.outputs import STACK_OUTPUTS
from infra.clickhouse_server import ClickHouse, ClickHouseArgs
from infra.containers import Resources, stack_platform
from infra.data_generator import DataGenerator, DataGeneratorArgs, generator_environment
from infra.grafana_objects import GrafanaObjects, GrafanaObjectsArgs
from infra.grafana_server import Grafana, GrafanaArgs
from infra.kafka_cluster import KafkaArgs, KafkaCluster, TopicArgs, node_environment
from infra.kafka_ui import KafkaUi, KafkaUiArgs, kafka_ui_environment
from infra.settings import Settings, load_settings
from infra.zookeeper import ZooKeeper


def deploy() -> None:
    settings = load_settings()
    if settings.config.platform == "kubernetes":
        from infra.kubernetes.stack import deploy_kubernetes  # noqa: PLC0415 (the Docker path never imports it)

        deploy_kubernetes(settings)
        return
    config = settings.config
    platform = stack_platform(settings)
    zookeeper = None
    if config.kafkaMode == "zookeeper":
        zookeeper = ZooKeeper(
            platform, Resources(config.zookeeperImage, config.zookeeperMemoryMb, config.zookeeperCpus)
        )
    kafka = KafkaCluster(platform, kafka_args(settings, zookeeper.connect if zookeeper else None), zookeeper)
    kafka_ui = KafkaUi(
        platform,
        KafkaUiArgs(
            Resources(config.kafkaUiImage, config.kafkaUiMemoryMb, config.kafkaUiCpus),
            settings.host_ports.kafka_ui,
            kafka_ui_environment(settings, kafka.bootstrap_servers),
        ),
        kafka,
    )
    clickhouse = ClickHouse(
        platform,
        ClickHouseArgs(
            Resources(config.clickhouseImage, config.clickhouseMemoryMb, config.clickhouseCpus),
            settings.host_ports.clickhouse,
            settings.schema_spec(),
            config.allowDestructiveSchemaChanges,
        ),
        kafka,
    )
    grafana = Grafana(
        platform,
        GrafanaArgs(
            Resources(config.grafanaImage, config.grafanaMemoryMb, config.grafanaCpus),
            settings.host_ports.grafana,
            config.clickhousePlugin,
        ),
    )
    DataGenerator(
        platform,
        DataGeneratorArgs(config.generatorMemoryMb, config.generatorCpus, generator_environment(settings)),
        kafka,
    )
    objects = GrafanaObjects(
        GrafanaObjectsArgs(
            settings.stack, config.midPriceThreshold, config.freshnessMinutes, config.runbookUrl, config.alertWebhookUrl
        ),
        grafana,
        clickhouse,
        kafka_ui.url,
    )
    export_outputs(
        {
            "platform": config.platform,
            "grafanaUrl": grafana.url,
            "grafanaAdminUser": grafana.admin_user,
            "grafanaAdminPassword": grafana.admin_password,
            "dashboardUrl": objects.dashboard_url,
            "kafkaUiUrl": kafka_ui.url,
            "kafkaUiUser": kafka_ui.user,
            "kafkaUiPassword": kafka_ui.password,
            "kafkaBootstrapServers": kafka.host_bootstrap_servers,
            "clickhouseUrl": clickhouse.url,
            "clickhouseAdminUser": clickhouse.admin_user,
            "clickhouseAdminPassword": clickhouse.admin_password,
            "clickhouseReaderUser": clickhouse.reader_user,
            "clickhouseReaderPassword": clickhouse.reader_password,
            "clickhouseDatabase": clickhouse.database,
            "kafkaMode": kafka.mode,
            "kafkaTopic": config.topic,
            "kafkaTopicPartitions": config.topicPartitions,
            "kafkaReplicationFactor": settings.replication_factor,
            "schemaSpec": dataclasses.asdict(clickhouse.spec),
            "grafanaDatasourceUid": objects.datasource.uid,
            "midPriceThreshold": config.midPriceThreshold,
            "reportIntervalSeconds": config.reportIntervalSeconds,
        }
    )


def kafka_args(settings: Settings, zookeeper_connect: str | None) -> KafkaArgs:
    """The cluster as the settings describe it, in their mode: KRaft unless ZooKeeper's address is given."""
    config = settings.config
    image = config.kafkaImage if config.kafkaMode == "zookeeper" else config.kafkaKraftImage
    nodes = range(1, config.kafkaBrokers + 1)
    return KafkaArgs(
        mode=config.kafkaMode,
        resources=Resources(image, config.kafkaMemoryMb, config.kafkaCpus),
        node_environments=tuple(node_environment(settings, index, zookeeper_connect) for index in nodes),
        host_ports=tuple(settings.broker_host_ports),
        advertised_host=settings.kafka_host,
        bootstrap_servers=",".join(settings.bootstrap_servers),
        topic=TopicArgs(config.topic, config.topicPartitions, settings.replication_factor),
        allow_destructive_changes=config.allowDestructiveSchemaChanges,
    )


def export_outputs(values: Mapping[str, Any]) -> None:
    """Export exactly the outputs `core.outputs` lists, in its order: what `make verify` reads is always there."""
    names = [output.name for output in STACK_OUTPUTS]
    if set(values) != set(names):
        raise ValueError(f"stack outputs differ from core.outputs: {sorted(set(values) ^ set(names))}")
    for name in names:
        pulumi.export(name, values[name])
