"""docs/generated/kubernetes-*.yaml are what the programs declare now (`make docs` rewrites them)."""

from __future__ import annotations

import yaml

from testbed.kubernetes import PIPELINE_GOLDEN, PLATFORM_GOLDEN, goldens


def test_golden_manifests_are_up_to_date() -> None:
    for path, text in goldens().items():
        assert path.read_text() == text, f"{path.name} is out of date: run make docs"


def test_golden_manifests_hold_the_default_stack() -> None:
    kinds = sorted(item.get("kind", "helmChart") for item in yaml.safe_load_all(PIPELINE_GOLDEN.read_text()))
    assert kinds == ["Deployment", "Kafka", "KafkaNodePool", "KafkaTopic", "Namespace", "Secret", "helmChart"]
    (chart,) = [item["helmChart"] for item in yaml.safe_load_all(PLATFORM_GOLDEN.read_text()) if "helmChart" in item]
    assert chart["chart"] == "oci://quay.io/strimzi-helm/strimzi-kafka-operator" and chart["version"] == "1.2.0"
    assert chart["values"]["watchAnyNamespace"] is True
