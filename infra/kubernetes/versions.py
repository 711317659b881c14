"""What the Kubernetes platform is pinned to; each fact's source is in docs/upstream.md ("Kubernetes")."""

from __future__ import annotations

STRIMZI_VERSION = "1.2.0"  # strimzi/strimzi-kafka-operator tag 1.2.0
STRIMZI_CHART = "oci://quay.io/strimzi-helm/strimzi-kafka-operator"  # the chart README's install command
STRIMZI_API = "kafka.strimzi.io/v1"  # the only API since Strimzi 1.0.0
KAFKA_VERSION = "4.3.1"  # kafka-versions.yaml at 1.2.0: the default, supported 4.2.0-4.3.1
KAFKA_UI_CHART = "kafka-ui"
KAFKA_UI_CHART_REPOSITORY = "https://kafbat.github.io/helm-charts"
KAFKA_UI_CHART_VERSION = "1.5.2"  # kafbat/helm-charts tag charts/kafka-ui-1.5.2
LOWEST_KUBERNETES = "1.30.0"  # Strimzi 1.2.0's chart README: "Kubernetes 1.30+"
# Until parts 2 and 3 of issue 24 land, a Kubernetes stack deploys no ClickHouse and no Grafana.
NOT_DEPLOYED_YET = ("clickhouse", "grafana")
