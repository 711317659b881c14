"""The generator on Kubernetes: its image built from `generator/Dockerfile`, pushed to `imageRegistry` and
referenced by digest, in a Deployment with the Docker container's environment (`generator_environment`) and
health probe."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_docker as docker
import pulumi_kubernetes as k8s

from infra.data_generator import IMAGE_REPOSITORY, STOP_TIMEOUT_S, build_args, health_command, source_digest
from infra.kubernetes.namespace import StackNamespace
from infra.kubernetes.strimzi import StrimziKafka, memory

APP = "generator"


@dataclasses.dataclass(frozen=True)
class GeneratorDeploymentArgs:
    image_registry: str  # where the image is pushed and pulled from
    memory_mb: int
    environment: Mapping[str, str]  # `infra.data_generator.generator_environment`, as on Docker
    instance: str  # the stack: the pods' `app.kubernetes.io/instance`


def image_name(registry: str) -> str:
    return f"{registry}/{IMAGE_REPOSITORY}:{source_digest()}"


def deployment_spec(
    args: GeneratorDeploymentArgs, labels: Mapping[str, str], image: pulumi.Input[str]
) -> dict[str, Any]:
    selector = {"app.kubernetes.io/name": APP, "app.kubernetes.io/instance": args.instance}
    probe = {"exec": {"command": ["sh", "-c", health_command()]}, "periodSeconds": 15, "failureThreshold": 6}
    return {
        "replicas": 1,
        "selector": {"matchLabels": selector},
        "strategy": {"type": "Recreate"},  # one producer at a time, as on Docker
        "template": {
            "metadata": {"labels": {**selector, **labels}},
            "spec": {
                "terminationGracePeriodSeconds": STOP_TIMEOUT_S,  # SIGKILL only after the generator's flush
                "containers": [
                    {
                        "name": APP,
                        "image": image,
                        "env": [{"name": name, "value": value} for name, value in sorted(args.environment.items())],
                        "resources": memory(args.memory_mb),
                        "startupProbe": {**probe, "initialDelaySeconds": 10},
                        "livenessProbe": probe,
                    }
                ],
            },
        },
    }


class GeneratorDeployment(pulumi.ComponentResource):
    def __init__(
        self,
        args: GeneratorDeploymentArgs,
        namespace: StackNamespace,
        kafka: StrimziKafka,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("pipelining-data:kubernetes:Generator", "generator", None, opts)
        built = docker.Image(
            "generator-build",
            image_name=image_name(args.image_registry),
            build=build_args(),
            skip_push=False,  # pushed with the credentials of `docker login <imageRegistry>`
            opts=pulumi.ResourceOptions(parent=self),
        )
        # repo_digest is registry/repository@sha256:…: a rebuilt image is a new digest and a rollout
        metadata: Any = {"name": APP, "namespace": namespace.name, "labels": namespace.labels}
        spec: Any = deployment_spec(
            args, namespace.labels, built.repo_digest
        )  # a plain manifest dict, validated in the tests
        self.deployment = k8s.apps.v1.Deployment(
            "generator",
            metadata=metadata,
            spec=spec,
            opts=namespace.options(self, [kafka.topic]),
        )
        self.register_outputs({"image": built.repo_digest})
