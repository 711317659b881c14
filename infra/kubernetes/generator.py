"""The generator on Kubernetes: its image built from `generator/Dockerfile`, pushed to `imageRegistry` and
referenced by digest, in a Deployment with the Docker container's environment (`generator_environment`) and
health probe."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_docker as docker
import pulumi_kubernetes as k8s

from infra.data_generator import (
    IMAGE_REPOSITORY,
    STOP_TIMEOUT_S,
    build_args,
    generator_environment,
    health_command,
    source_digest,
)
from infra.kubernetes.namespace import StackNamespace, stack_labels
from infra.kubernetes.strimzi import StrimziKafka, memory
from infra.settings import Settings

APP = "generator"


def image_name(settings: Settings) -> str:
    return f"{settings.config.imageRegistry}/{IMAGE_REPOSITORY}:{source_digest()}"


def deployment_spec(settings: Settings, image: pulumi.Input[str]) -> dict[str, Any]:
    selector = {"app.kubernetes.io/name": APP, "app.kubernetes.io/instance": settings.stack}
    probe = {"exec": {"command": ["sh", "-c", health_command()]}, "periodSeconds": 15, "failureThreshold": 6}
    return {
        "replicas": 1,
        "selector": {"matchLabels": selector},
        "strategy": {"type": "Recreate"},  # one producer at a time, as on Docker
        "template": {
            "metadata": {"labels": {**selector, **stack_labels(settings)}},
            "spec": {
                "terminationGracePeriodSeconds": STOP_TIMEOUT_S,  # SIGKILL only after the generator's flush
                "containers": [
                    {
                        "name": APP,
                        "image": image,
                        "env": [
                            {"name": name, "value": value}
                            for name, value in sorted(generator_environment(settings).items())
                        ],
                        "resources": memory(settings.config.generatorMemoryMb),
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
        settings: Settings,
        namespace: StackNamespace,
        kafka: StrimziKafka,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("pipelining-data:kubernetes:Generator", "generator", None, opts)
        built = docker.Image(
            "generator-build",
            image_name=image_name(settings),
            build=build_args(),
            skip_push=False,  # pushed with the credentials of `docker login <imageRegistry>`
            opts=pulumi.ResourceOptions(parent=self),
        )
        # repo_digest is registry/repository@sha256:…: a rebuilt image is a new digest and a rollout
        metadata: Any = {"name": APP, "namespace": namespace.name, "labels": stack_labels(settings)}
        spec: Any = deployment_spec(settings, built.repo_digest)  # a plain manifest dict, validated in the tests
        self.deployment = k8s.apps.v1.Deployment(
            "generator",
            metadata=metadata,
            spec=spec,
            opts=namespace.options(self, [kafka.topic]),
        )
        self.register_outputs({"image": built.repo_digest})
