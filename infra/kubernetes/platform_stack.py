"""The once-per-cluster platform stack (the Pulumi project in `platform/`): the Strimzi cluster operator.

Why its own project, not a stack kind of the pipeline project: the operator and its CRDs are cluster-scoped
and must outlive every pipeline stack; its config (the operator's namespace, what it watches) shares no key
with a pipeline's; and a CRD declared in the same program as its custom resources broke previews in
pulumi-kubernetes before 4.32.0 (docs/kubernetes.md, "Why a platform stack").

- The chart is installed with `helm.v4.Chart`: CRDs in the chart's `crds/` become Pulumi-managed objects
  (Helm itself never upgrades them). Bumping `STRIMZI_VERSION` upgrades the operator *and* its CRDs in one
  `up`; Strimzi CRDs only add fields within `kafka.strimzi.io/v1`.
- The operator watches every namespace (`watchAnyNamespace`): the chart's default watches only its own, and
  namespace-per-stack would need the platform stack re-deployed for every new pipeline stack.
- Destroying it while pipeline stacks exist would delete the CRDs and with them every stack's Kafka: the chart
  is `protect`ed unless `allowDestroy` is true, so `pulumi destroy` refuses (docs/kubernetes.md).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.kubernetes.versions import STRIMZI_CHART, STRIMZI_VERSION

OPERATOR_NAMESPACE = "strimzi-system"
PLATFORM_PROJECT = "pipelining-data-platform"
OPERATOR_MEMORY = "384Mi"  # the chart's own default limit (values.yaml `resources`)


def operator_values() -> dict[str, Any]:
    return {
        "watchAnyNamespace": True,
        "resources": {
            "requests": {"memory": OPERATOR_MEMORY, "cpu": "200m"},
            "limits": {"memory": OPERATOR_MEMORY, "cpu": "1000m"},
        },
    }


def platform_outputs() -> dict[str, Any]:
    """What pipeline stacks read through their StackReference."""
    return {"strimziVersion": STRIMZI_VERSION, "operatorNamespace": OPERATOR_NAMESPACE, "watchAnyNamespace": True}


def deploy_platform() -> None:
    config = pulumi.Config()
    allow_destroy = config.get_bool("allowDestroy") or False
    provider = k8s.Provider("kubernetes", context=config.get("kubeContext") or None)
    namespace = k8s.core.v1.Namespace(
        "operator-namespace",
        metadata={"name": OPERATOR_NAMESPACE, "labels": {"app.kubernetes.io/part-of": PLATFORM_PROJECT}},
        opts=pulumi.ResourceOptions(provider=provider, protect=not allow_destroy),
    )
    k8s.helm.v4.Chart(
        "strimzi",
        chart=STRIMZI_CHART,
        version=STRIMZI_VERSION,
        namespace=OPERATOR_NAMESPACE,
        values=operator_values(),
        opts=pulumi.ResourceOptions(provider=provider, depends_on=[namespace], protect=not allow_destroy),
    )
    for name, value in platform_outputs().items():
        pulumi.export(name, value)
