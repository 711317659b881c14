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


def test_custom_resources_and_charts_without_limits_are_refused(declared) -> None:
    pool_type = "kubernetes:kafka.strimzi.io/v1:KafkaNodePool"
    pool = copy.deepcopy(declared[pool_type])
    pool["spec"].pop("resources")
    assert violations("kubernetes-memory-limits", pool_type, pool)
    kafka_type = "kubernetes:kafka.strimzi.io/v1:Kafka"
    kafka = copy.deepcopy(declared[kafka_type])
    kafka["spec"]["entityOperator"]["userOperator"] = {}
    (message,) = violations("kubernetes-memory-limits", kafka_type, kafka)
    assert message.startswith("entityOperator.userOperator has no memory limit")
    chart = copy.deepcopy(declared[CHART])
    chart["values"].pop("resources")
    assert violations("kubernetes-memory-limits", CHART, chart)


@pytest.mark.parametrize("image", ["ghcr.io/x/generator", "ghcr.io/x/generator:latest", "generator@sha256:abc"])
def test_unpinned_workload_images_are_refused(declared, image: str) -> None:
    deployment = copy.deepcopy(declared[DEPLOYMENT])
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] = image
    (message,) = violations("kubernetes-pinned-images", DEPLOYMENT, deployment)
    assert "is not pinned" in message


def test_unpinned_charts_are_refused(declared) -> None:
    chart = copy.deepcopy(declared[CHART])
    chart["values"]["image"]["tag"] = "latest"
    chart.pop("version")
    assert len(violations("kubernetes-pinned-images", CHART, chart)) == 2


def test_load_balancers_need_source_ranges(declared) -> None:
    service = {"spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}
    (message,) = violations("kubernetes-load-balancer-source-ranges", SERVICE, service)
    assert "loadBalancerSourceRanges" in message
    service["spec"]["loadBalancerSourceRanges"] = ["10.0.0.0/8"]
    assert violations("kubernetes-load-balancer-source-ranges", SERVICE, service) == []
    assert violations("kubernetes-load-balancer-source-ranges", SERVICE, {"spec": {"type": "ClusterIP"}}) == []
    chart = copy.deepcopy(declared[CHART])
    chart["values"]["service"]["type"] = "LoadBalancer"
    assert violations("kubernetes-load-balancer-source-ranges", CHART, chart)
