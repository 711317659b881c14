"""Both Kafka modes under Pulumi's mocks, 1 and 3 nodes: what runs, each node's environment as its image's
scripts read it (docs/upstream.md), a KRaft cluster id kept in state, and the refusal of a mode switch."""

from __future__ import annotations

import base64

import pytest

from infra.kafka_cluster import kraft_cluster_id
from infra.kafka_mode import ModeProvider
from testbed import kafka_image
from testbed.kafka_image import format_args, format_failure
from testbed.program import CONTAINER, Program, dev_config, run_program, unwrap


def program(mode: str, nodes: int, **extra: str) -> Program:
    return run_program(config={**dev_config(), "kafkaMode": mode, "kafkaBrokers": str(nodes), **extra})


def env(program: Program, name: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in unwrap(program.containers[name].inputs["envs"]))


def volume_names(program: Program) -> set[str]:
    return {volume.inputs["name"] for volume in program.of_type("docker:index/volume:Volume")}


@pytest.mark.parametrize("nodes", [1, 3])
def test_zookeeper_mode_runs_zookeeper_and_cp_kafka(nodes: int) -> None:
    deployed = program("zookeeper", nodes)
    assert "zookeeper" in deployed.containers
    assert {"pipelining-data-dev-zookeeper-data", "pipelining-data-dev-zookeeper-datalog"} <= volume_names(deployed)
    images = {image.inputs["name"] for image in deployed.of_type("docker:index/remoteImage:RemoteImage")}
    assert any(name.startswith("confluentinc/cp-kafka:7.9.") for name in images)
    for index in range(1, nodes + 1):
        node = env(deployed, f"kafka-{index}")
        assert node["KAFKA_BROKER_ID"] == str(index) and node["KAFKA_ZOOKEEPER_CONNECT"] == "zookeeper:2181"
        assert "KAFKA_PROCESS_ROLES" not in node and "CLUSTER_ID" not in node
        assert "CONTROLLER" not in node["KAFKA_LISTENERS"]
    assert not deployed.of_type("random:index/randomId:RandomId")


@pytest.mark.parametrize("nodes", [1, 3])
def test_kraft_mode_runs_combined_nodes_without_zookeeper(nodes: int) -> None:
    deployed = program("kraft", nodes)
    assert "zookeeper" not in deployed.containers
    assert not [name for name in volume_names(deployed) if "zookeeper" in name]
    images = {image.inputs["name"] for image in deployed.of_type("docker:index/remoteImage:RemoteImage")}
    assert any(name.startswith("apache/kafka:4.") for name in images)
    voters = ",".join(f"{n}@kafka-{n}:9093" for n in range(1, nodes + 1))
    replication = min(nodes, 3)
    for index in range(1, nodes + 1):
        node = env(deployed, f"kafka-{index}")
        host_port = 9092 + index - 1
        assert node["KAFKA_NODE_ID"] == str(index) and node["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert node["KAFKA_CONTROLLER_QUORUM_VOTERS"] == voters
        assert node["KAFKA_CONTROLLER_LISTENER_NAMES"] == "CONTROLLER"
        assert node["KAFKA_LISTENERS"] == "INTERNAL://0.0.0.0:9092,EXTERNAL://0.0.0.0:29092,CONTROLLER://0.0.0.0:9093"
        assert node["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"] == (
            "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT"
        )
        assert node["KAFKA_ADVERTISED_LISTENERS"] == f"INTERNAL://kafka-{index}:9092,EXTERNAL://127.0.0.1:{host_port}"
        assert node["KAFKA_INTER_BROKER_LISTENER_NAME"] == "INTERNAL"
        assert node["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == str(replication)
        assert node["KAFKA_MIN_INSYNC_REPLICAS"] == str(min(replication, 2))
        assert node["KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR"] == str(replication)
        assert "KAFKA_ZOOKEEPER_CONNECT" not in node and "KAFKA_BROKER_ID" not in node
        ports = deployed.containers[f"kafka-{index}"].inputs["ports"]
        assert ports == [{"internal": 29092, "external": host_port, "ip": "127.0.0.1"}]  # never the controller
        probe = deployed.containers[f"kafka-{index}"].inputs["healthcheck"]["tests"][1]
        assert "/opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server localhost:9092" in probe
        assert probe.startswith("KAFKA_HEAP_OPTS=-Xmx64m ")
        assert "kafka-mode" in deployed.waits_for(CONTAINER, f"kafka-{index}")


@pytest.mark.parametrize("nodes", [1, 3])
def test_each_kraft_node_formats_its_storage_as_the_image_does_it(nodes: int) -> None:
    """apache/kafka 4.3.1 formats storage on every start with `--cluster-id` alone, never `--standalone`: a
    controller without static voters cannot start, and static voters need no flag (testbed/kafka_image.py)."""
    deployed = program("kraft", nodes)
    cluster_ids = set()
    for index in range(1, nodes + 1):
        node = env(deployed, f"kafka-{index}")
        assert format_failure(node) is None, index
        assert format_args(node) == ["format", f"--cluster-id={node['CLUSTER_ID']}", "-c", kafka_image.CONFIG]
        properties = kafka_image.server_properties(node)
        voters = properties["controller.quorum.voters"].split(",")
        assert len(voters) == nodes and f"{index}@kafka-{index}:9093" in voters  # every node votes, itself too
        assert "controller.quorum.bootstrap.servers" not in properties  # dynamic quorum: the image cannot format it
        cluster_ids.add(node["CLUSTER_ID"])
    assert len(cluster_ids) == 1 and kafka_image.DEFAULT_CLUSTER_ID not in cluster_ids


def test_the_image_s_format_rule_tells_a_startable_node_from_one_that_is_not() -> None:
    node = env(program("kraft", 1), "kafka-1")
    dynamic = {key: value for key, value in node.items() if key != "KAFKA_CONTROLLER_QUORUM_VOTERS"}
    assert format_failure({**dynamic, "KAFKA_CONTROLLER_QUORUM_BOOTSTRAP_SERVERS": "kafka-1:9093"}) == (
        kafka_image.NO_VOTERS
    )
    assert format_failure({**node, "KAFKA_PROCESS_ROLES": "broker"}) is None  # a broker needs no voters to format
    assert kafka_image.server_properties({"KAFKA_A___B__C_D": "x", "KAFKA_HEAP_OPTS": "-Xmx1g"}) == {"a-b_c.d": "x"}


def test_downstream_is_the_same_in_both_modes() -> None:
    zookeeper, kraft = program("zookeeper", 3), program("kraft", 3)
    for name in ("kafka-ui", "generator", "clickhouse", "grafana"):
        assert zookeeper.containers[name].inputs["envs"] == kraft.containers[name].inputs["envs"], name
    topics = (zookeeper.named("topic").inputs, kraft.named("topic").inputs)
    assert {key: value for key, value in topics[0].items() if key != "cluster"} == {
        key: value for key, value in topics[1].items() if key != "cluster"
    }
    assert topics[0]["cluster"] == "zookeeper" and topics[1]["cluster"].startswith("kraft:")
    assert zookeeper.named("schema").inputs["spec"] == kraft.named("schema").inputs["spec"]


def test_the_cluster_id_comes_from_state_not_from_config() -> None:
    ids = {env(program("kraft", nodes, topicPartitions="6"), "kafka-1")["CLUSTER_ID"] for nodes in (1, 3)}
    ids.add(env(program("kraft", 1), "kafka-1")["CLUSTER_ID"])
    (cluster_id,) = ids
    (generated,) = program("kraft", 1).of_type("random:index/randomId:RandomId")
    assert generated.inputs == {"byteLength": 16}  # no keepers: nothing in config can regenerate it
    assert len(cluster_id) == 22 and not cluster_id.startswith("-")
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_a_cluster_id_never_starts_with_a_dash() -> None:
    assert kraft_cluster_id("f8" + "00" * 15).startswith(("A", "B", "C", "D", "E", "F", "G", "H", "e", "f"))
    assert all(not kraft_cluster_id(f"{first:02x}" + "ab" * 15).startswith("-") for first in range(256))


def test_data_volumes_differ_by_mode_so_a_switch_never_mounts_the_other_modes_data() -> None:
    assert "pipelining-data-dev-kafka-1-data" in volume_names(program("zookeeper", 1))
    assert "pipelining-data-dev-kafka-1-kraft-data" in volume_names(program("kraft", 1))


def test_a_mode_switch_is_refused_unless_destructive_changes_are_allowed() -> None:
    provider = ModeProvider()
    old = {"mode": "zookeeper", "allowDestructiveChanges": False}
    refused = provider.check(old, {"mode": "kraft", "allowDestructiveChanges": False}).failures
    assert [f.reason for f in refused] == [
        "refused: kafkaMode zookeeper -> kraft replaces the Kafka cluster and loses its data; "
        "set allowDestructiveSchemaChanges to allow it"
    ]
    assert provider.check(old, {"mode": "kraft", "allowDestructiveChanges": True}).failures == []
    assert provider.check({}, {"mode": "kraft", "allowDestructiveChanges": False}).failures == []  # first up
    assert provider.check(old, dict(old)).failures == []
    assert provider.diff("zookeeper", old, {"mode": "kraft", "allowDestructiveChanges": True}).replaces == ["mode"]


def test_the_mode_guard_carries_the_stacks_permission() -> None:
    (guard,) = program("kraft", 1, allowDestructiveSchemaChanges="true").of_type("pulumi-python:dynamic/kafka:Mode")
    assert guard.inputs["mode"] == "kraft" and guard.inputs["allowDestructiveChanges"] is True


def test_a_bad_mode_is_one_line() -> None:
    with pytest.raises(Exception, match=r"kafkaMode='kraf' is not accepted: expected one of zookeeper, kraft"):
        program("kraf", 1)


def addresses(listeners: str) -> dict[str, tuple[str, int]]:
    """`NAME://host:port,…` -> {NAME: (host, port)}."""
    found = {}
    for listener in listeners.split(","):
        name, _, address = listener.partition("://")
        host, _, port = address.rpartition(":")
        found[name] = (host, int(port))
    return found


@pytest.mark.parametrize("mode", ["zookeeper", "kraft"])
@pytest.mark.parametrize("bind", ["127.0.0.1", "0.0.0.0", "192.168.7.2"])
def test_what_each_broker_advertises_is_where_it_listens_and_what_it_publishes(mode: str, bind: str) -> None:
    """A client told an advertised address must reach that broker: the stack network by its alias and the
    listener's port; the host by the published port that maps to the EXTERNAL listener."""
    deployed = program(mode, 3, bindAddress=bind, kafkaPort="19092")
    for index in (1, 2, 3):
        container = deployed.containers[f"kafka-{index}"]
        node = env(deployed, f"kafka-{index}")
        bound, advertised = addresses(node["KAFKA_LISTENERS"]), addresses(node["KAFKA_ADVERTISED_LISTENERS"])
        assert set(advertised) == {"INTERNAL", "EXTERNAL"}  # never the controller
        [network] = container.inputs["networksAdvanced"]
        assert advertised["INTERNAL"] == (network["aliases"][0], bound["INTERNAL"][1])
        [published] = [p for p in container.inputs["ports"] if p["internal"] == bound["EXTERNAL"][1]]
        # whatever bindAddress says, the PLAINTEXT listener is published and advertised on loopback only
        assert published["ip"] == "127.0.0.1" and published["external"] == 19092 + index - 1
        assert advertised["EXTERNAL"] == ("127.0.0.1", published["external"])
    bootstrap = env(deployed, "generator")["KAFKA_BOOTSTRAP_SERVERS"].split(",")
    assert bootstrap == [f"kafka-{index}:{addresses(env(deployed, f'kafka-{index}')['KAFKA_LISTENERS'])['INTERNAL'][1]}"
                         for index in (1, 2, 3)]  # fmt: skip
