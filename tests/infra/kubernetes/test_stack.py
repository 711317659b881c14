"""A `platform: kubernetes` pipeline stack under Pulumi's mocks: what it declares, in what order, what it
keeps, and the settings it refuses (one line each)."""

from __future__ import annotations

from typing import Any

import pytest

from infra.kafka_ui import CONFIG_TREE, PASSWORD_FILE
from infra.kubernetes.kafka_ui import image_values
from infra.kubernetes.stack import not_deployed_note
from infra.kubernetes.versions import NOT_DEPLOYED_YET, STRIMZI_API
from infra.settings import DOCKER_ONLY, KEYS_BY_NAME, KUBERNETES_ONLY, SettingsError, settings_from
from testbed.kubernetes import DEFAULT_CONFIG, REGISTRY, manifests, pipeline_program
from testbed.program import CONTAINER, dev_config, is_secret, run_program, unwrap

NAMESPACE = "kubernetes:core/v1:Namespace"
KAFKA = f"kubernetes:{STRIMZI_API}:Kafka"
POOL = f"kubernetes:{STRIMZI_API}:KafkaNodePool"
TOPIC = f"kubernetes:{STRIMZI_API}:KafkaTopic"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CHART = "kubernetes:helm.sh/v4:Chart"


@pytest.fixture(scope="module")
def alice():
    return pipeline_program()


def by_kind(program: Any) -> dict[str, dict[str, Any]]:
    return {item["kind"]: item for item in manifests(program)}


def test_declares_no_docker_container_or_network_and_one_namespace(alice) -> None:
    types = {resource.typ for resource in alice.resources}
    assert not [typ for typ in types if typ.startswith("docker:") and typ != "docker:index/image:Image"]
    assert CONTAINER not in types and "docker:index/network:Network" not in types
    (namespace,) = alice.of_type(NAMESPACE)
    assert namespace.inputs["metadata"]["name"] == "pd-alice"
    kinds = {NAMESPACE, KAFKA, POOL, TOPIC, DEPLOYMENT, CHART, "kubernetes:core/v1:Secret"}  # the kafka-ui login
    assert {typ for typ in types if typ.startswith("kubernetes:")} == kinds
    assert len(alice.of_type("pulumi:providers:kubernetes")) == 1


def test_every_object_lives_in_the_namespace_through_the_stacks_provider(alice) -> None:
    for resource in alice.resources:
        if resource.typ.startswith("kubernetes:") and resource.typ != NAMESPACE:
            namespace = resource.inputs.get("namespace") or resource.inputs["metadata"]["namespace"]
            assert namespace == "pd-alice", resource.name
            assert alice.options[(resource.typ, resource.name)].provider == (
                "pulumi:providers:kubernetes",
                "kubernetes",
            )


def test_custom_resources_are_awaited_and_deleted_before_what_they_need(alice) -> None:
    kinds = by_kind(alice)
    for kind in ("Kafka", "KafkaTopic"):
        assert kinds[kind]["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Ready", kind
    # Pulumi deletes a resource before everything it depends on: the topic before Kafka, Kafka before its
    # node pool, all of them before the namespace; the generator and kafka-ui before Kafka and its topic.
    assert alice.waits_for(TOPIC, "kafka-topic") >= {"kafka", "namespace", "topic-shape"}
    assert alice.waits_for(KAFKA, "kafka") >= {"kafka-node-pool", "namespace"}
    assert alice.waits_for(POOL, "kafka-node-pool") >= {"namespace"}
    assert alice.waits_for(DEPLOYMENT, "generator") >= {"kafka-topic", "namespace"}
    assert alice.waits_for(CHART, "kafka-ui") >= {"kafka", "namespace"}


def test_kafka_is_kraft_with_dual_role_nodes_and_docker_replication_rules() -> None:
    for brokers in (1, 2, 3):
        kinds = by_kind(pipeline_program({**DEFAULT_CONFIG, "kafkaBrokers": str(brokers)}))
        pool, kafka, topic = kinds["KafkaNodePool"], kinds["Kafka"], kinds["KafkaTopic"]
        assert pool["spec"]["replicas"] == brokers and pool["spec"]["roles"] == ["controller", "broker"]
        assert pool["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
        assert pool["spec"]["resources"]["limits"]["memory"] == "1024Mi"
        assert pool["spec"]["jvmOptions"] == {"-Xms": "512m", "-Xmx": "512m"}
        config = kafka["spec"]["kafka"]["config"]
        assert config["default.replication.factor"] == min(brokers, 3)
        assert config["min.insync.replicas"] == min(brokers, 2)
        assert config["auto.create.topics.enable"] is False
        assert topic["spec"] == {"topicName": "metrics_raw", "partitions": 3, "replicas": min(brokers, 3)}
        assert topic["metadata"]["name"] == "metrics-raw"
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "kafka"


def test_kafka_volumes_and_namespace_are_kept_unless_destruction_is_allowed() -> None:
    for allowed in (False, True):
        config = {**DEFAULT_CONFIG, "allowDestructiveSchemaChanges": str(allowed).lower()}
        program = pipeline_program(config)
        (volume,) = by_kind(program)["KafkaNodePool"]["spec"]["storage"]["volumes"]
        assert volume["deleteClaim"] is allowed and volume["size"] == "10Gi"
        assert program.options[(NAMESPACE, "namespace")].retain_on_delete is not allowed


def test_generator_runs_the_pushed_image_by_digest_with_the_docker_environment(alice) -> None:
    deployment = by_kind(alice)["Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"].startswith(f"{REGISTRY}/pipelining-data-generator@sha256:")
    (build,) = alice.of_type("docker:index/image:Image")
    assert build.inputs["skipPush"] is False and build.inputs["imageName"].startswith(f"{REGISTRY}/")
    docker = run_program("alice", dev_config(without_ports=True))
    docker_env = dict(line.split("=", 1) for line in unwrap(docker.containers["generator"].inputs["envs"]))
    kubernetes_env = {item["name"]: item["value"] for item in container["env"]}
    assert kubernetes_env.pop("KAFKA_BOOTSTRAP_SERVERS") == "kafka-kafka-bootstrap:9092"
    assert docker_env.pop("KAFKA_BOOTSTRAP_SERVERS") == "kafka-1:9092"
    assert kubernetes_env == docker_env


def test_kafka_ui_is_read_only_from_its_pinned_chart(alice) -> None:
    (chart,) = alice.of_type(CHART)
    assert chart.inputs["chart"] == "kafka-ui" and chart.inputs["version"] == "1.5.2"
    env = chart.inputs["values"]["envs"]["config"]
    assert env["KAFKA_CLUSTERS_0_READONLY"] == "true"
    assert env["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"] == "kafka-kafka-bootstrap:9092"
    assert chart.inputs["values"]["image"] == {"registry": "ghcr.io", "repository": "kafbat/kafka-ui", "tag": "v1.5.0"}
    assert chart.inputs["values"]["service"]["type"] == "ClusterIP"
    assert not alice.of_type("kubernetes:core/v1:Service")


def test_load_balancer_exposure_carries_the_source_ranges() -> None:
    config = {**DEFAULT_CONFIG, "exposure": "loadBalancer", "loadBalancerSourceRanges": "203.0.113.0/24"}
    (service,) = pipeline_program(config).of_type("kubernetes:core/v1:Service")
    assert service.inputs["spec"]["type"] == "LoadBalancer"
    assert service.inputs["spec"]["loadBalancerSourceRanges"] == ["203.0.113.0/24"]


def test_the_note_names_what_is_not_deployed_yet(alice) -> None:
    settings = settings_from(DEFAULT_CONFIG, "pipelining-data", "alice")
    note = not_deployed_note(settings)
    assert "\n" not in note and all(service in note for service in NOT_DEPLOYED_YET)


def test_a_platform_stack_of_another_strimzi_is_refused() -> None:
    from infra.kubernetes.namespace import check_platform  # noqa: PLC0415
    from infra.kubernetes.stack import namespace_args  # noqa: PLC0415

    args = namespace_args(settings_from(DEFAULT_CONFIG, "pipelining-data", "alice"))
    with pytest.raises(
        SettingsError, match=r"^pipelining-data:platformStack=.* runs Strimzi 0\.49\.0: expected 1\.2\.0"
    ):
        check_platform(args, {"strimziVersion": "0.49.0"})
    assert check_platform(args, {"strimziVersion": "1.2.0"}) == "1.2.0"


def refused(config: dict[str, str]) -> list[str]:
    with pytest.raises(SettingsError) as error:
        settings_from(config, "pipelining-data", "alice")
    return str(error.value).splitlines()


def test_zookeeper_mode_and_a_missing_registry_are_refused_on_kubernetes() -> None:
    (line,) = refused({**DEFAULT_CONFIG, "kafkaMode": "zookeeper"})
    assert line.startswith(
        "pipelining-data:kafkaMode='zookeeper' is not accepted on platform kubernetes: expected kraft"
    )
    (line,) = refused({"platform": "kubernetes", "kafkaMode": "kraft"})
    assert line.startswith("pipelining-data:imageRegistry is required on platform kubernetes")
    (line,) = refused({**DEFAULT_CONFIG, "exposure": "loadBalancer"})
    assert line.startswith("pipelining-data:loadBalancerSourceRanges is required with exposure=loadBalancer")


@pytest.mark.parametrize("name", DOCKER_ONLY)
def test_each_docker_only_key_is_refused_on_kubernetes(name: str) -> None:
    value = {"bindAddress": "0.0.0.0", "zookeeperMemoryMb": "600"}.get(name, "")
    value = value or ("9000" if name.endswith("Port") else "example/image:1.0.0")
    (line,) = refused({**DEFAULT_CONFIG, name: value})
    assert line.startswith(f"pipelining-data:{name}=") and "is not accepted on platform kubernetes" in line
    assert KEYS_BY_NAME[name].description.endswith("(docker only)")


@pytest.mark.parametrize("name", KUBERNETES_ONLY)
def test_each_kubernetes_only_key_is_refused_on_docker(name: str) -> None:
    values = {"kafkaStorageGi": "20", "exposure": "loadBalancer", "loadBalancerSourceRanges": "10.0.0.0/8",
              "platformStack": "acme/pipelining-data-platform/prod", "imageRegistry": "ghcr.io/acme"}  # fmt: skip
    (line,) = refused({name: values.get(name, "custom")})
    assert line.startswith(f"pipelining-data:{name}=") and "is not accepted on platform docker" in line
    assert KEYS_BY_NAME[name].description.endswith("(kubernetes only)")


@pytest.mark.parametrize(
    ("name", "value", "accepted"),
    [
        ("platform", "k8s", "one of docker, kubernetes"),
        ("namespace", "Team_A", "a DNS-1123 label"),
        ("imageRegistry", "https://ghcr.io", "a registry host[:port][/path]"),
        ("loadBalancerSourceRanges", "everyone", "comma-separated CIDRs"),
        ("kafkaStorageGi", "-1", "0"),
        ("exposure", "nodePort", "tunnel, loadBalancer"),
    ],
)
def test_bad_kubernetes_values_name_the_key_and_what_is_accepted(name: str, value: str, accepted: str) -> None:
    lines = refused({**DEFAULT_CONFIG, name: value})
    assert any(
        line.startswith(f"pipelining-data:{name}={value!r} is not accepted") and accepted in line for line in lines
    )


def test_namespace_defaults_to_pd_stack_as_a_dns_label() -> None:
    assert settings_from(DEFAULT_CONFIG, "pipelining-data", "Alice_2.dev").namespace == "pd-alice-2-dev"
    assert settings_from({**DEFAULT_CONFIG, "namespace": "team-a"}, "pipelining-data", "x").namespace == "team-a"


def test_the_platform_stack_refuses_destroy_until_allowed() -> None:
    from testbed.kubernetes import platform_program  # noqa: PLC0415

    for allow, protected in (({}, True), ({"allowDestroy": "true"}, False)):
        program = platform_program(allow)
        (chart,) = program.of_type(CHART)
        assert chart.inputs["values"]["watchAnyNamespace"] is True and chart.inputs["version"] == "1.2.0"
        assert not chart.inputs.get("skipCrds")  # the platform stack owns Strimzi's CRDs
        assert program.options[(CHART, "strimzi")].protect is protected
        assert program.options[(NAMESPACE, "operator-namespace")].protect is protected


def test_kafka_ui_asks_for_a_login_on_kubernetes_too(alice) -> None:
    """The same login as on Docker: LOGIN_FORM, the generated password in a Secret mounted where the
    environment's configtree import reads it; the password is a secret output, never in the chart's values."""
    (chart,) = [r for r in alice.of_type(CHART) if r.name == "kafka-ui"]
    values = chart.inputs["values"]
    assert {"AUTH_TYPE": "LOGIN_FORM", "SPRING_SECURITY_USER_NAME": "admin"}.items() <= values["envs"]["config"].items()
    assert values["envs"]["config"]["SPRING_CONFIG_IMPORT"] == f"configtree:{CONFIG_TREE}"
    (mount,) = values["volumeMounts"]
    (volume,) = values["volumes"]
    assert mount["mountPath"] == CONFIG_TREE and mount["readOnly"] is True and mount["name"] == volume["name"]
    (secret,) = alice.of_type("kubernetes:core/v1:Secret")
    assert secret.inputs["metadata"]["name"] == volume["secret"]["secretName"]
    assert is_secret(secret.inputs["stringData"])
    assert set(unwrap(secret.inputs["stringData"])) == {PASSWORD_FILE.removeprefix(CONFIG_TREE)}
    assert "generated-kafka-ui-password" not in str(values)


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("ghcr.io/kafbat/kafka-ui:v1.5.0", {"registry": "ghcr.io", "repository": "kafbat/kafka-ui", "tag": "v1.5.0"}),
        (f"ghcr.io/kafbat/kafka-ui:v1.5.0@sha256:{'a' * 64}",
         {"registry": "ghcr.io", "repository": "kafbat/kafka-ui", "tag": f"v1.5.0@sha256:{'a' * 64}"}),
        ("localhost:5000/kafka-ui:1.5.0", {"registry": "localhost:5000", "repository": "kafka-ui", "tag": "1.5.0"}),
    ],
)  # fmt: skip
def test_the_chart_gets_back_the_reference_make_pin_wrote(reference: str, expected: dict[str, str]) -> None:
    """The chart writes registry/repository:tag: a digest on the tag is the reference `make pin` wrote."""
    values = image_values(reference)
    assert values == expected
    assert "/".join(filter(None, (values["registry"], values["repository"]))) + ":" + values["tag"] == reference


def test_a_digest_pinned_kafka_ui_is_accepted_on_kubernetes_and_a_tagless_one_refused() -> None:
    digest = f"@sha256:{'b' * 64}"
    pinned = {**DEFAULT_CONFIG, "kafkaUiImage": f"ghcr.io/kafbat/kafka-ui:v1.5.0{digest}"}
    assert settings_from(pinned, "pipelining-data", "alice").config.kafkaUiImage.endswith(digest)
    with pytest.raises(SettingsError, match="the kafka-ui chart needs a tag"):
        settings_from({**DEFAULT_CONFIG, "kafkaUiImage": f"ghcr.io/kafbat/kafka-ui{digest}"}, "pipelining-data", "a")


def test_an_ephemeral_kafka_needs_the_permission_to_lose_data() -> None:
    """Kafka's volumes are kept unless allowed: the same guard as the Docker path's data."""
    assert refused({**DEFAULT_CONFIG, "kafkaStorageGi": "0"}) == [
        "pipelining-data:kafkaStorageGi=0 is not accepted without allowDestructiveSchemaChanges=true: an ephemeral "
        "volume loses Kafka's data at every pod restart; expected a size in GiB"
    ]
    allowed = {**DEFAULT_CONFIG, "kafkaStorageGi": "0", "allowDestructiveSchemaChanges": "true"}
    assert settings_from(allowed, "pipelining-data", "ci").config.kafkaStorageGi == 0
