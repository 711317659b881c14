"""A `platform: kubernetes` pipeline stack: the stack's namespace with Kafka (Strimzi), the topic, kafka-ui and
the generator. ClickHouse and Grafana come with parts 2 and 3 of issue 24: every preview and `up` says so.

This is the Kubernetes platform's composition root, the sibling of `infra/stack.py`'s Docker path: the one place
that turns the settings into each component's typed args. The components read nothing but their args and the
components they stand on (the namespace's name, labels and provider; Kafka's bootstrap address)."""

from __future__ import annotations

import pulumi

from infra.data_generator import generator_environment
from infra.kafka_cluster import TopicArgs, cluster_env, kraft_env
from infra.kafka_ui import kafka_ui_environment
from infra.kubernetes.generator import GeneratorDeployment, GeneratorDeploymentArgs
from infra.kubernetes.kafka_ui import KafkaUiChart, KafkaUiChartArgs
from infra.kubernetes.namespace import NamespaceArgs, StackNamespace, stack_labels
from infra.kubernetes.strimzi import StrimziArgs, StrimziKafka, broker_config
from infra.kubernetes.versions import NOT_DEPLOYED_YET
from infra.settings import Settings


def not_deployed_note(settings: Settings) -> str:
    return (
        f"platform kubernetes: this stack does not deploy {' or '.join(NOT_DEPLOYED_YET)} yet "
        f"(namespace {settings.namespace} gets Kafka, the topic, kafka-ui and the generator; docs/kubernetes.md)"
    )


def namespace_args(settings: Settings) -> NamespaceArgs:
    config = settings.config
    return NamespaceArgs(
        name=settings.namespace,
        labels=stack_labels(settings.project, settings.stack),
        platform_stack=config.platformStack,
        platform_stack_key=f"{settings.project}:platformStack",
        kube_context=config.kubeContext or None,
        keep_on_destroy=not config.allowDestructiveSchemaChanges,
    )


def strimzi_args(settings: Settings) -> StrimziArgs:
    """The Docker path's cluster-wide and KRaft properties (node 1's: the node-specific ones Strimzi owns)."""
    config = settings.config
    return StrimziArgs(
        brokers=config.kafkaBrokers,
        memory_mb=config.kafkaMemoryMb,
        broker_config=broker_config({**cluster_env(settings), **kraft_env(settings, 1)}),
        storage_gi=config.kafkaStorageGi,
        storage_class=config.storageClass,
        keep_volumes=not config.allowDestructiveSchemaChanges,
        topic=TopicArgs(config.topic, config.topicPartitions, settings.replication_factor),
        bootstrap_servers=",".join(settings.bootstrap_servers),
    )


def kafka_ui_args(settings: Settings, bootstrap_servers: str) -> KafkaUiChartArgs:
    config = settings.config
    exposed = config.exposure == "loadBalancer"
    return KafkaUiChartArgs(
        image=config.kafkaUiImage,
        memory_mb=config.kafkaUiMemoryMb,
        environment=kafka_ui_environment(settings, bootstrap_servers),
        load_balancer_ranges=tuple(config.loadBalancerSourceRanges.split(",")) if exposed else None,
    )


def generator_args(settings: Settings) -> GeneratorDeploymentArgs:
    return GeneratorDeploymentArgs(
        image_registry=settings.config.imageRegistry,
        memory_mb=settings.config.generatorMemoryMb,
        environment=generator_environment(settings),
        instance=settings.stack,
    )


def deploy_kubernetes(settings: Settings) -> None:
    pulumi.log.warn(not_deployed_note(settings))
    namespace = StackNamespace(namespace_args(settings))
    kafka = StrimziKafka(strimzi_args(settings), namespace)
    kafka_ui = KafkaUiChart(kafka_ui_args(settings, kafka.bootstrap_servers), namespace, kafka)
    GeneratorDeployment(generator_args(settings), namespace, kafka)

    config = settings.config
    pulumi.export("platform", config.platform)
    pulumi.export("notDeployedYet", list(NOT_DEPLOYED_YET))
    pulumi.export("namespace", namespace.name)
    pulumi.export("kafkaUiUrl", kafka_ui.url)
    pulumi.export("kafkaUiUser", kafka_ui.user)
    pulumi.export("kafkaUiPassword", kafka_ui.password)
    pulumi.export("kafkaBootstrapServers", f"{kafka.bootstrap_servers} (in namespace {namespace.name})")
    pulumi.export("kafkaMode", config.kafkaMode)
    pulumi.export("kafkaTopic", config.topic)
    pulumi.export("kafkaTopicPartitions", config.topicPartitions)
    pulumi.export("kafkaReplicationFactor", settings.replication_factor)
    pulumi.export("reportIntervalSeconds", config.reportIntervalSeconds)
