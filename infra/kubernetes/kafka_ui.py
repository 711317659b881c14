"""kafka-ui from kafbat's chart, read-only, with the Docker container's environment (`kafka_ui_environment`).

The chart's Service has no `loadBalancerSourceRanges` (kafbat/helm-charts `charts/kafka-ui/templates/
service.yaml`), so it stays ClusterIP; `exposure: loadBalancer` adds a Service of ours that has them. Either way
the UI asks for a login, as on Docker: its generated password is a Secret mounted where the environment's
`configtree:` import reads it (`infra/kafka_ui.py` CONFIG_TREE), so a reachable UI is never an open one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.kafka_ui import CONFIG_TREE, PASSWORD_FILE, UI_PORT, USER
from infra.kubernetes.namespace import StackNamespace
from infra.kubernetes.strimzi import StrimziKafka, memory
from infra.kubernetes.versions import KAFKA_UI_CHART, KAFKA_UI_CHART_REPOSITORY, KAFKA_UI_CHART_VERSION
from infra.passwords import generated_password

RELEASE = "kafka-ui"  # fullnameOverride: the Deployment and Service are named this
SERVICE_PORT = 80  # the chart's service.port
LOGIN_SECRET = "kafka-ui-login"  # a Secret of ours: one key, the file the configtree import reads
LOGIN_VOLUME = "login"
EXTERNAL_SERVICE = f"{RELEASE}-external"  # ours, with exposure: loadBalancer


@dataclasses.dataclass(frozen=True)
class KafkaUiChartArgs:
    image: str
    memory_mb: int
    environment: Mapping[str, str]  # `infra.kafka_ui.kafka_ui_environment`, as on Docker
    load_balancer_ranges: tuple[str, ...] | None  # None: reached through `kubectl port-forward` only


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


def chart_values(args: KafkaUiChartArgs, labels: Mapping[str, str]) -> dict[str, Any]:
    return {
        "fullnameOverride": RELEASE,
        "image": image_values(args.image),
        "envs": {"config": dict(args.environment)},
        "resources": memory(args.memory_mb),
        "service": {"type": "ClusterIP"},
        "podLabels": dict(labels),
        "volumes": [{"name": LOGIN_VOLUME, "secret": {"secretName": LOGIN_SECRET}}],
        "volumeMounts": [{"name": LOGIN_VOLUME, "mountPath": CONFIG_TREE, "readOnly": True}],
    }


def tunnel_command(namespace: str) -> str:
    return f"kubectl port-forward -n {namespace} svc/{RELEASE} {UI_PORT}:{SERVICE_PORT}"


class KafkaUiChart(pulumi.ComponentResource):
    def __init__(
        self,
        args: KafkaUiChartArgs,
        namespace: StackNamespace,
        kafka: StrimziKafka,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("pipelining-data:kubernetes:KafkaUi", "kafka-ui", None, opts)
        self.user = USER
        self.password = generated_password("kafka-ui-password", parent=self)
        login = k8s.core.v1.Secret(
            "kafka-ui-login",
            metadata={"name": LOGIN_SECRET, "namespace": namespace.name, "labels": namespace.labels},
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
            values=chart_values(args, namespace.labels),
            opts=namespace.options(self, [kafka.kafka, login]),
        )
        self.url = f"http://127.0.0.1:{UI_PORT} (after: {tunnel_command(namespace.name)})"
        if args.load_balancer_ranges is not None:
            metadata: Any = {"name": EXTERNAL_SERVICE, "namespace": namespace.name, "labels": namespace.labels}
            spec: Any = {
                "type": "LoadBalancer",
                "loadBalancerSourceRanges": list(args.load_balancer_ranges),
                "selector": {"app.kubernetes.io/name": KAFKA_UI_CHART, "app.kubernetes.io/instance": RELEASE},
                "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}],
            }
            self.external = k8s.core.v1.Service(
                "kafka-ui-external",
                metadata=metadata,
                spec=spec,
                opts=namespace.options(self, [self.chart]),
            )
            self.url = f"http://<EXTERNAL-IP> (kubectl get svc -n {namespace.name} {EXTERNAL_SERVICE})"
        self.register_outputs({})
