"""A `platform: kubernetes` pipeline stack: the stack's namespace with Kafka (Strimzi), the topic, kafka-ui and
the generator. ClickHouse and Grafana come with parts 2 and 3 of issue 24: every preview and `up` says so."""

from __future__ import annotations

import pulumi

from infra.kubernetes.generator import GeneratorDeployment
from infra.kubernetes.kafka_ui import KafkaUiChart
from infra.kubernetes.namespace import StackNamespace
from infra.kubernetes.strimzi import StrimziKafka
from infra.kubernetes.versions import NOT_DEPLOYED_YET
from infra.settings import Settings


def not_deployed_note(settings: Settings) -> str:
    return (
        f"platform kubernetes: this stack does not deploy {' or '.join(NOT_DEPLOYED_YET)} yet "
        f"(namespace {settings.namespace} gets Kafka, the topic, kafka-ui and the generator; docs/kubernetes.md)"
    )


def deploy_kubernetes(settings: Settings) -> None:
    pulumi.log.warn(not_deployed_note(settings))
    namespace = StackNamespace(settings)
    kafka = StrimziKafka(settings, namespace)
    kafka_ui = KafkaUiChart(settings, namespace, kafka)
    GeneratorDeployment(settings, namespace, kafka)

    pulumi.export("platform", settings.config.platform)
    pulumi.export("notDeployedYet", list(NOT_DEPLOYED_YET))
    pulumi.export("namespace", namespace.name)
    pulumi.export("kafkaUiUrl", kafka_ui.url)
    pulumi.export("kafkaUiUser", kafka_ui.user)
    pulumi.export("kafkaUiPassword", kafka_ui.password)
    pulumi.export("kafkaBootstrapServers", f"{kafka.bootstrap_servers} (in namespace {settings.namespace})")
    pulumi.export("kafkaMode", settings.config.kafkaMode)
    pulumi.export("kafkaTopic", settings.config.topic)
    pulumi.export("kafkaTopicPartitions", settings.config.topicPartitions)
    pulumi.export("kafkaReplicationFactor", settings.replication_factor)
    pulumi.export("reportIntervalSeconds", settings.config.reportIntervalSeconds)
