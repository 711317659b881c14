"""The stack's provider, its one namespace, and the cluster's platform stack it builds on."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.kubernetes.versions import STRIMZI_VERSION
from infra.settings import Settings, SettingsError

LABEL_PART_OF = "app.kubernetes.io/part-of"
LABEL_STACK = "pipelining-data/stack"


def stack_labels(settings: Settings) -> dict[str, str]:
    return {LABEL_PART_OF: settings.project, LABEL_STACK: settings.stack}


def check_platform(settings: Settings, outputs: Any) -> str:
    """The platform stack's Strimzi version, refused unless it is the one this code is written for."""
    found = (outputs or {}).get("strimziVersion")
    if found != STRIMZI_VERSION:
        raise SettingsError(
            f"{settings.project}:platformStack={settings.config.platformStack!r} runs Strimzi {found}: expected "
            f"{STRIMZI_VERSION} (deploy the platform stack from this checkout first: docs/kubernetes.md)"
        )
    return str(found)


class StackNamespace(pulumi.ComponentResource):
    """The provider every object of the stack goes through, and the namespace they live in.

    The namespace outlives `pulumi destroy` unless the stack allows destructive changes: deleting a namespace
    deletes the volumes (PersistentVolumeClaims) of its Kafka nodes with it (docs/kubernetes.md, "Data").
    """

    def __init__(self, settings: Settings, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pipelining-data:kubernetes:StackNamespace", "namespace", None, opts)
        self.name = settings.namespace
        self.platform = pulumi.StackReference(
            "platform", stack_name=settings.config.platformStack, opts=pulumi.ResourceOptions(parent=self)
        )
        self.strimzi_version = self.platform.outputs.apply(lambda outputs: check_platform(settings, outputs))
        self.provider = k8s.Provider(
            "kubernetes",
            context=settings.config.kubeContext or None,
            namespace=self.name,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.namespace = k8s.core.v1.Namespace(
            "namespace",
            metadata={"name": self.name, "labels": stack_labels(settings)},
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=self.provider,
                retain_on_delete=not settings.config.allowDestructiveSchemaChanges,
            ),
        )
        self.register_outputs({"name": self.name})

    def options(
        self, parent: pulumi.Resource, depends_on: list[pulumi.Resource] | None = None
    ) -> pulumi.ResourceOptions:
        """What every object in the namespace is declared with: this provider, and after the namespace (so it
        is deleted before the namespace)."""
        return pulumi.ResourceOptions(
            parent=parent, provider=self.provider, depends_on=[self.namespace, *(depends_on or [])]
        )
