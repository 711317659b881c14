"""The policy pack's Kubernetes rules, both ways: crafted properties that break each rule, and everything a
Kubernetes pipeline stack and the platform stack declare passing all of them."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pulumi_policy import ResourceValidationArgs
from pulumi_policy.proxy import unknown_checking_proxy

from policy.kubernetes_checks import CHART, KUBERNETES_POLICIES
from testbed.kubernetes import DEFAULT_CONFIG, pipeline_program, platform_program

POLICY = {policy.name: policy for policy in KUBERNETES_POLICIES}
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"


def violations(policy: str, typ: str, props: dict[str, Any]) -> list[str]:
    found: list[str] = []
    args = ResourceValidationArgs(typ, unknown_checking_proxy(props), f"urn:{typ}::x", "x", None, None, None)
    POLICY[policy].validate(args, lambda message, urn=None: found.append(message))
    return found


def all_violations(program: Any) -> list[str]:
    found = []
    for resource in program.resources:
        for name in POLICY:
            found += [f"{resource.name}: {m}" for m in violations(name, resource.typ, dict(resource.inputs))]
    return found


@pytest.mark.parametrize(
    "config",
    [{}, {"exposure": "loadBalancer", "loadBalancerSourceRanges": "10.0.0.0/8"}, {"kafkaBrokers": "3"}],
)
def test_what_our_pipeline_stack_declares_passes(config: dict[str, str]) -> None:
    assert all_violations(pipeline_program({**DEFAULT_CONFIG, **config})) == []


def test_what_the_platform_stack_declares_passes() -> None:
    assert all_violations(platform_program()) == []


@pytest.fixture(scope="module")
def declared() -> dict[str, dict[str, Any]]:
    return {resource.typ: dict(resource.inputs) for resource in pipeline_program().resources}


def test_a_container_without_a_memory_limit_is_refused(declared) -> None:
    deployment = copy.deepcopy(declared[DEPLOYMENT])
    del deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    (message,) = violations("kubernetes-memory-limits", DEPLOYMENT, deployment)
    assert "container 'generator' has no memory limit" in message


def test_an_init_container_is_held_to_the_same_rules(declared) -> None:
    """Init containers run first in the pod: an unlimited or unpinned one is named like any other container."""
    deployment = copy.deepcopy(declared[DEPLOYMENT])
    pod = deployment["spec"]["template"]["spec"]
    pod["initContainers"] = [{"name": "wait-for-kafka", "image": "busybox:latest"}]
    (message,) = violations("kubernetes-memory-limits", DEPLOYMENT, deployment)
    assert message.startswith("container 'wait-for-kafka' has no memory limit")
    (message,) = violations("kubernetes-pinned-images", DEPLOYMENT, deployment)
    assert message.startswith("container 'wait-for-kafka' image 'busybox:latest' is not pinned")
    pod["initContainers"][0] |= {"image": "busybox:1.37.0", "resources": {"limits": {"memory": "16Mi"}}}
    assert violations("kubernetes-memory-limits", DEPLOYMENT, deployment) == []
    assert violations("kubernetes-pinned-images", DEPLOYMENT, deployment) == []


def test_custom_resources_and_charts_without_limits_are_refused(declared) -> None:
    pool_type = "kubernetes:kafka.strimzi.io/v1:KafkaNodePool"
    pool = copy.deepcopy(declared[pool_type])
    pool["spec"].pop("resources")
    (message,) = violations("kubernetes-memory-limits", pool_type, pool)
    assert message.startswith("the node pool's pods ") and "no memory limit" in message
    kafka_type = "kubernetes:kafka.strimzi.io/v1:Kafka"
    kafka = copy.deepcopy(declared[kafka_type])
    kafka["spec"]["entityOperator"]["userOperator"] = {}
    (message,) = violations("kubernetes-memory-limits", kafka_type, kafka)
    assert message.startswith("entityOperator.userOperator has no memory limit")
    chart = copy.deepcopy(declared[CHART])
    chart["values"].pop("resources")
    (message,) = violations("kubernetes-memory-limits", CHART, chart)
    assert message.startswith("chart kafka-ui has no memory limit")


@pytest.mark.parametrize("image", ["ghcr.io/x/generator", "ghcr.io/x/generator:latest", "generator@sha256:abc"])
def test_unpinned_workload_images_are_refused(declared, image: str) -> None:
    deployment = copy.deepcopy(declared[DEPLOYMENT])
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] = image
    (message,) = violations("kubernetes-pinned-images", DEPLOYMENT, deployment)
    assert message.startswith(f"container 'generator' image '{image}' is not pinned")


def test_a_container_without_an_image_is_refused_without_inventing_one(declared) -> None:
    deployment = copy.deepcopy(declared[DEPLOYMENT])
    del deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    (message,) = violations("kubernetes-pinned-images", DEPLOYMENT, deployment)
    assert message.startswith("container 'generator' image '' is not pinned")


def test_a_chart_without_a_version_is_refused_by_name(declared) -> None:
    chart = copy.deepcopy(declared[CHART])
    chart.pop("version")
    (message,) = violations("kubernetes-pinned-images", CHART, chart)
    assert message.startswith("chart kafka-ui has no version")


@pytest.mark.parametrize("tag", [None, "", "latest"])
def test_a_chart_image_without_a_pinned_tag_is_refused_by_name(declared, tag: str | None) -> None:
    chart = copy.deepcopy(declared[CHART])
    if tag is None:
        chart["values"]["image"].pop("tag")
    else:
        chart["values"]["image"]["tag"] = tag
    (message,) = violations("kubernetes-pinned-images", CHART, chart)
    assert message.startswith("chart kafka-ui runs an image without a pinned tag") and "values.image.tag" in message


def test_load_balancers_need_source_ranges(declared) -> None:
    service = {"spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}
    (message,) = violations("kubernetes-load-balancer-source-ranges", SERVICE, service)
    assert message.startswith("LoadBalancer service without loadBalancerSourceRanges")
    service["spec"]["loadBalancerSourceRanges"] = ["10.0.0.0/8"]
    assert violations("kubernetes-load-balancer-source-ranges", SERVICE, service) == []
    assert violations("kubernetes-load-balancer-source-ranges", SERVICE, {"spec": {"type": "ClusterIP"}}) == []
    chart = copy.deepcopy(declared[CHART])
    chart["values"]["service"]["type"] = "LoadBalancer"
    (message,) = violations("kubernetes-load-balancer-source-ranges", CHART, chart)
    assert message.startswith("chart kafka-ui makes a LoadBalancer service")
    assert "declare one with loadBalancerSourceRanges" in message  # what to do instead
