"""kafka-ui from kafbat's chart, read-only, with the Docker container's environment (`kafka_ui_environment`).

The chart's Service has no `loadBalancerSourceRanges` (kafbat/helm-charts `charts/kafka-ui/templates/
service.yaml`), so it stays ClusterIP; `exposure: loadBalancer` adds a Service of ours that has them. Either way
the UI asks for a login, as on Docker: its generated password is a Secret mounted where the environment's
`configtree:` import reads it (`infra/kafka_ui.py` CONFIG_TREE), so a reachable UI is never an open one.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.kafka_ui import CONFIG_TREE, PASSWORD_FILE, UI_PORT, USER, kafka_ui_environment
from infra.kubernetes.namespace import StackNamespace, stack_labels
from infra.kubernetes.strimzi import StrimziKafka, memory
from infra.kubernetes.versions import KAFKA_UI_CHART, KAFKA_UI_CHART_REPOSITORY, KAFKA_UI_CHART_VERSION
from infra.passwords import generated_password
from infra.settings import Settings

RELEASE = "kafka-ui"  # fullnameOverride: the Deployment and Service are named this
SERVICE_PORT = 80  # the chart's service.port
LOGIN_SECRET = "kafka-ui-login"  # a Secret of ours: one key, the file the configtree import reads
LOGIN_VOLUME = "login"


def image_values(reference: str) -> dict[str, str]:
    """`ghcr.io/kafbat/kafka-ui:v1.5.0[@sha256:…]` -> the chart's image.registry / repository / tag. The chart
    writes `registry/repository:tag`, so a digest rides on the tag (`v1.5.0@sha256:…`, a reference that pulls by
    the digest): what `make pin` writes keeps its meaning on Kubernetes."""
    base, _, digest = reference.partition("@")
    name, _, tag = base.rpartition(":")
    tag = f"{tag}@{digest}" if digest else tag
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return {"registry": first, "repository": rest, "tag": tag}
    return {"registry": "", "repository": name, "tag": tag}


def chart_values(settings: Settings, bootstrap_servers: str) -> dict[str, Any]:
    return {
        "fullnameOverride": RELEASE,
        "image": image_values(settings.config.kafkaUiImage),
        "envs": {"config": kafka_ui_environment(settings, bootstrap_servers)},
        "resources": memory(settings.config.kafkaUiMemoryMb),
        "service": {"type": "ClusterIP"},
        "podLabels": stack_labels(settings),
        "volumes": [{"name": LOGIN_VOLUME, "secret": {"secretName": LOGIN_SECRET}}],
        "volumeMounts": [{"name": LOGIN_VOLUME, "mountPath": CONFIG_TREE, "readOnly": True}],
    }


def tunnel_command(settings: Settings) -> str:
    return f"kubectl port-forward -n {settings.namespace} svc/{RELEASE} {UI_PORT}:{SERVICE_PORT}"


def service_name(_settings: Settings) -> str:
    return f"{RELEASE}-external"


class KafkaUiChart(pulumi.ComponentResource):
    def __init__(
        self,
        settings: Settings,
        namespace: StackNamespace,
        kafka: StrimziKafka,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("pipelining-data:kubernetes:KafkaUi", "kafka-ui", None, opts)
        self.user = USER
        self.password = generated_password("kafka-ui-password", parent=self)
        login = k8s.core.v1.Secret(
            "kafka-ui-login",
            metadata={"name": LOGIN_SECRET, "namespace": namespace.name, "labels": stack_labels(settings)},
            string_data={PASSWORD_FILE.removeprefix(CONFIG_TREE): self.password},
            opts=namespace.options(self, []),
        )
        self.chart = k8s.helm.v4.Chart(
            "kafka-ui",
            chart=KAFKA_UI_CHART,
            name=RELEASE,  # the release name: the chart's selector labels use it
            version=KAFKA_UI_CHART_VERSION,
            repository_opts=k8s.helm.v4.RepositoryOptsArgs(repo=KAFKA_UI_CHART_REPOSITORY),
            namespace=namespace.name,
            values=chart_values(settings, kafka.bootstrap_servers),
            opts=namespace.options(self, [kafka.kafka, login]),
        )
        self.url = f"http://127.0.0.1:{UI_PORT} (after: {tunnel_command(settings)})"
        if settings.config.exposure == "loadBalancer":
            metadata: Any = {
                "name": service_name(settings),
                "namespace": namespace.name,
                "labels": stack_labels(settings),
            }
            spec: Any = {
                "type": "LoadBalancer",
                "loadBalancerSourceRanges": settings.config.loadBalancerSourceRanges.split(","),
                "selector": {"app.kubernetes.io/name": KAFKA_UI_CHART, "app.kubernetes.io/instance": RELEASE},
                "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}],
            }
            self.external = k8s.core.v1.Service(
                "kafka-ui-external",
                metadata=metadata,
                spec=spec,
                opts=namespace.options(self, [self.chart]),
            )
            self.url = f"http://<EXTERNAL-IP> (kubectl get svc -n {settings.namespace} {service_name(settings)})"
        self.register_outputs({})
