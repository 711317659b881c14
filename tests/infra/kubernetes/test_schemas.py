"""Every object a default Kubernetes pipeline stack (and the platform stack) declares, validated against
upstream: custom resources against Strimzi's own CRD schemas at the pinned version, built-in objects against
the OpenAPI schema of the lowest Kubernetes we support (kubernetes-validate), chart values against the keys
of the pinned charts' values.yaml (neither chart ships a values.schema.json). Sources: the fixtures' SOURCES.md."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from infra.kubernetes.stack import strimzi_args
from infra.kubernetes.versions import LOWEST_KUBERNETES, STRIMZI_API
from infra.settings import settings_from
from testbed.kubernetes import DEFAULT_CONFIG, charts, manifests, pipeline_program, platform_program
from testbed.repo import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "kubernetes"
STRIMZI = FIXTURES / "strimzi-1.2.0"
CRDS = {
    "Kafka": "040-Crd-kafka.yaml",
    "KafkaTopic": "043-Crd-kafkatopic.yaml",
    "KafkaNodePool": "045-Crd-kafkanodepool.yaml",
}
# settings that change the shape of what is declared: each is validated too
VARIANTS = {
    "default": {},
    "three-brokers": {"kafkaBrokers": "3", "topicPartitions": "6", "storageClass": "fast-ssd", "kafkaStorageGi": "50"},
    "ephemeral": {"kafkaStorageGi": "0", "allowDestructiveSchemaChanges": "true"},
    "load-balancer": {"exposure": "loadBalancer", "loadBalancerSourceRanges": "203.0.113.0/24,10.0.0.0/8"},
}


def crd_schema(kind: str) -> dict[str, Any]:
    crd = yaml.safe_load((STRIMZI / CRDS[kind]).read_text())
    (version,) = [v for v in crd["spec"]["versions"] if f"{crd['spec']['group']}/{v['name']}" == STRIMZI_API]
    assert version["served"] and version["storage"]
    return version["schema"]["openAPIV3Schema"]


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def declared(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return manifests(pipeline_program({**DEFAULT_CONFIG, **VARIANTS[request.param]}))


def test_every_custom_resource_is_valid_against_strimzis_crd(declared: list[dict[str, Any]]) -> None:
    custom = [item for item in declared if item["apiVersion"] == STRIMZI_API]
    assert sorted(item["kind"] for item in custom) == ["Kafka", "KafkaNodePool", "KafkaTopic"]
    for item in custom:
        schema = crd_schema(item["kind"])
        jsonschema.validate(item, schema, cls=jsonschema.Draft7Validator)


def test_the_crd_schema_catches_a_wrong_spec(declared: list[dict[str, Any]]) -> None:
    """The check has teeth: a misspelt or mistyped field of ours fails it."""
    (pool,) = [item for item in declared if item["kind"] == "KafkaNodePool"]
    broken = {**pool, "spec": {**pool["spec"], "roles": ["leader"]}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, crd_schema("KafkaNodePool"))
    (topic,) = [item for item in declared if item["kind"] == "KafkaTopic"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**topic, "spec": {**topic["spec"], "partitions": "three"}}, crd_schema("KafkaTopic"))


def test_built_in_objects_are_valid_on_the_lowest_supported_kubernetes(declared: list[dict[str, Any]]) -> None:
    built_in = [item for item in declared if item["apiVersion"] != STRIMZI_API]
    assert {item["kind"] for item in built_in} >= {"Namespace", "Deployment"}
    for item in built_in:
        kubernetes_validate.validate(item, LOWEST_KUBERNETES, strict=True)


def test_kubernetes_validate_catches_a_wrong_object(declared: list[dict[str, Any]]) -> None:
    (deployment,) = [item for item in declared if item["kind"] == "Deployment"]
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 1}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, LOWEST_KUBERNETES, strict=True)


def test_platform_stack_objects_are_valid() -> None:
    for item in manifests(platform_program()):
        kubernetes_validate.validate(item, LOWEST_KUBERNETES, strict=True)


def _paths(values: Mapping[str, Any], prefix: str = "") -> set[str]:
    found = set()
    for key, value in values.items():
        path = f"{prefix}{key}"
        found.add(path)
        if isinstance(value, Mapping) and value:
            found |= _paths(value, f"{path}.")
    return found


# where a chart takes free-form maps (environment, resources, labels), keys below them are ours to choose
FREE_FORM = ("envs.config.", "resources.", "podLabels.")


@pytest.mark.parametrize(
    ("program", "chart_values"),
    [
        (pipeline_program, FIXTURES / "kafka-ui-chart-1.5.2" / "values.yaml"),
        (platform_program, STRIMZI / "chart-values.yaml"),
    ],
)
def test_chart_values_are_keys_the_pinned_chart_has(program: Any, chart_values: Path) -> None:
    upstream = _paths(yaml.safe_load(chart_values.read_text()))
    (chart,) = charts(program())
    ours = {path for path in _paths(chart["values"]) if not path.startswith(FREE_FORM)}
    assert ours <= upstream, sorted(ours - upstream)


def test_no_broker_property_is_one_strimzi_forbids() -> None:
    source = (STRIMZI / "KafkaClusterSpec.java").read_text()
    declaration = re.search(r"FORBIDDEN_PREFIXES = (.*?);", source, re.DOTALL)
    assert declaration
    prefixes = [p.strip() for p in "".join(re.findall(r'"([^"]*)"', declaration[1])).split(",") if p.strip()]
    assert "log.dir" in prefixes and "controller." in prefixes
    for brokers in (1, 3):
        settings = settings_from({**DEFAULT_CONFIG, "kafkaBrokers": str(brokers)}, "pipelining-data", "alice")
        config = strimzi_args(settings).broker_config
        assert not [name for name in config if name.startswith(tuple(prefixes))]
        assert config["min.insync.replicas"] == min(brokers, 2)
        assert config["default.replication.factor"] == config["offsets.topic.replication.factor"] == brokers
