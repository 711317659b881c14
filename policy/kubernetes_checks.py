"""The policy pack's Kubernetes rules (platform: kubernetes), kept apart from the Docker rules in checks.py.

- every container has a memory limit: workloads' containers, the Strimzi custom resources' pods (node pools,
  the entity operator's containers) and a chart's `values.resources`;
- every image is pinned (a version tag, not latest, or a digest): workloads' containers, a chart's
  `values.image.tag`, and a chart itself has a version;
- no LoadBalancer Service without `loadBalancerSourceRanges` (a chart cannot declare them: its Service must
  not be a LoadBalancer).

Under `pulumi preview` a chart's rendered objects reach the pack as ordinary resources, so the workload rules
see them too; the chart rules catch a bad value before it is rendered.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from core.images import is_pinned
from policy.checks import plain

CHART = "kubernetes:helm.sh/v4:Chart"
STRIMZI = "kubernetes:kafka.strimzi.io/v1:"
WORKLOADS = {
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "kubernetes:core/v1:Pod": ("spec",),
}
# the Kafka resource's parts that run pods of their own, when present (Strimzi's KafkaSpec / EntityOperatorSpec)
KAFKA_PARTS = (("entityOperator", "topicOperator"), ("entityOperator", "userOperator"), ("cruiseControl",),
               ("kafkaExporter",))  # fmt: skip


def _at(props: Any, path: tuple[str, ...]) -> Any:
    value = plain(props)
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = plain(value.get(key))
    return value


def _containers(args: ResourceValidationArgs) -> Iterator[Mapping[str, Any]]:
    pod = _at(args.props, WORKLOADS[args.resource_type])
    for key in ("initContainers", "containers"):
        yield from (plain(container) for container in plain((pod or {}).get(key)) or [])


def _has_memory_limit(resources: Any) -> bool:
    return bool(_at(resources, ("limits", "memory")))


def _limited_parts(args: ResourceValidationArgs) -> Iterator[tuple[str, Any]]:
    """(what, its resources) for each part of the resource that runs a container."""
    typ = args.resource_type
    if typ in WORKLOADS:
        yield from ((f"container '{c.get('name')}'", c.get("resources")) for c in _containers(args))
    elif typ == f"{STRIMZI}KafkaNodePool":
        yield "the node pool's pods", _at(args.props, ("spec", "resources"))
    elif typ == f"{STRIMZI}Kafka":
        for path in KAFKA_PARTS:
            part = _at(args.props, ("spec", *path))
            if part is not None:
                yield ".".join(path), _at(part, ("resources",))
    elif typ == CHART:
        yield f"chart {plain(args.props.get('chart'))}", _at(args.props, ("values", "resources"))


def _validate_limits(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for what, resources in _limited_parts(args):
        if not _has_memory_limit(resources):
            report(f"{what} has no memory limit: set resources.limits.memory", None)


def _validate_pinned(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in WORKLOADS:
        for container in _containers(args):
            image = str(plain(container.get("image")) or "")
            if not is_pinned(image):
                report(
                    f"container '{container.get('name')}' image '{image}' is not pinned: use a tag or a digest", None
                )
    elif args.resource_type == CHART:
        chart = plain(args.props.get("chart"))
        if not plain(args.props.get("version")):
            report(f"chart {chart} has no version: pin one", None)
        image = _at(args.props, ("values", "image"))
        if isinstance(image, Mapping) and plain(image.get("tag")) in (None, "", "latest"):
            report(f"chart {chart} runs an image without a pinned tag: set values.image.tag", None)


def _validate_load_balancer(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == "kubernetes:core/v1:Service":
        spec = _at(args.props, ("spec",)) or {}
        if plain(spec.get("type")) == "LoadBalancer" and not plain(spec.get("loadBalancerSourceRanges")):
            report("LoadBalancer service without loadBalancerSourceRanges: it would be open to everyone", None)
    elif args.resource_type == CHART and _at(args.props, ("values", "service", "type")) == "LoadBalancer":
        report(f"chart {plain(args.props.get('chart'))} makes a LoadBalancer service: declare one with "
               "loadBalancerSourceRanges instead", None)  # fmt: skip


KUBERNETES_POLICIES = [
    ResourceValidationPolicy("kubernetes-memory-limits", "Every Kubernetes container and custom resource's pods "
                             "have a memory limit.", _validate_limits),
    ResourceValidationPolicy("kubernetes-pinned-images", "Kubernetes images and charts are pinned.", _validate_pinned),
    ResourceValidationPolicy("kubernetes-load-balancer-source-ranges", "No LoadBalancer without source ranges.",
                             _validate_load_balancer),
]  # fmt: skip
