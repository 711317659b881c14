"""The stack's provider, its one namespace, and the cluster's platform stack it builds on."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.kubernetes.versions import STRIMZI_VERSION
from infra.settings import SettingsError

LABEL_PART_OF = "app.kubernetes.io/part-of"
LABEL_STACK = "pipelining-data/stack"


def stack_labels(project: str, stack: str) -> dict[str, str]:
    return {LABEL_PART_OF: project, LABEL_STACK: stack}


@dataclasses.dataclass(frozen=True)
class NamespaceArgs:
    name: str
    labels: Mapping[str, str]  # every object of the stack carries them
    platform_stack: str  # the platform stack (Strimzi) this one builds on
    platform_stack_key: str  # the setting that names it, for the refusal: `pipelining-data:platformStack`
    kube_context: str | None  # None: the kubeconfig's current context
    keep_on_destroy: bool  # the namespace (and its volumes) outlives `pulumi destroy`


def check_platform(args: NamespaceArgs, outputs: Any) -> str:
    """The platform stack's Strimzi version, refused unless it is the one this code is written for."""
    found = (outputs or {}).get("strimziVersion")
    if found != STRIMZI_VERSION:
        raise SettingsError(
            f"{args.platform_stack_key}={args.platform_stack!r} runs Strimzi {found}: expected "
            f"{STRIMZI_VERSION} (deploy the platform stack from this checkout first: docs/kubernetes.md)"
        )
    return str(found)


class StackNamespace(pulumi.ComponentResource):
    """The provider every object of the stack goes through, and the namespace they live in.

    The namespace outlives `pulumi destroy` unless the stack allows destructive changes: deleting a namespace
    deletes the volumes (PersistentVolumeClaims) of its Kafka nodes with it (docs/kubernetes.md, "Data").
    """

    def __init__(self, args: NamespaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pipelining-data:kubernetes:StackNamespace", "namespace", None, opts)
        self.name = args.name
        self.labels = dict(args.labels)
        self.platform = pulumi.StackReference(
            "platform", stack_name=args.platform_stack, opts=pulumi.ResourceOptions(parent=self)
        )
        self.strimzi_version = self.platform.outputs.apply(lambda outputs: check_platform(args, outputs))
        self.provider = k8s.Provider(
            "kubernetes",
            context=args.kube_context,
            namespace=self.name,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.namespace = k8s.core.v1.Namespace(
            "namespace",
            metadata={"name": self.name, "labels": self.labels},
            opts=pulumi.ResourceOptions(parent=self, provider=self.provider, retain_on_delete=args.keep_on_destroy),
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
