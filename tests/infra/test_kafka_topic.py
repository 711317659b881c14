"""The topic resource's provider, called directly against a real Kafka-protocol broker (tansu)."""

from __future__ import annotations

import time

import pytest

from infra.kafka_topic import TopicError, TopicProvider
from testbed.broker import TansuBroker, free_port


def props(broker: TansuBroker, name: str, partitions: int = 3, **extra: object) -> dict:
    return {
        "name": name,
        "partitions": partitions,
        "replicationFactor": 1,
        "bootstrapServers": broker.bootstrap,
        "waitTimeoutSeconds": 10,
        **extra,
    }


def test_create_makes_the_topic_and_read_reports_it(broker: TansuBroker) -> None:
    provider = TopicProvider()
    created = provider.create(props(broker, "topic-create"))
    assert created.id == "topic-create"
    read = provider.read(created.id, created.outs)
    assert read.id == "topic-create" and read.outs["partitions"] == 3


def test_create_again_keeps_the_existing_topic(broker: TansuBroker) -> None:
    provider = TopicProvider()
    provider.create(props(broker, "topic-twice"))
    again = provider.create(props(broker, "topic-twice"))  # a retried `up` after a failure later in the run
    assert provider.read(again.id, again.outs).outs["partitions"] == 3


def test_a_missing_topic_reads_as_gone(broker: TansuBroker) -> None:
    assert TopicProvider().read("never-made", props(broker, "never-made")).id == ""


def test_growing_asks_the_broker_and_reports_its_refusal_in_one_line(broker: TansuBroker) -> None:
    # tansu has no CreatePartitions: this drives the grow path to a real broker's refusal
    provider = TopicProvider()
    created = provider.create(props(broker, "topic-grow", partitions=2))
    with pytest.raises(TopicError) as failure:
        provider.update(created.id, created.outs, props(broker, "topic-grow", partitions=4))
    message = str(failure.value)
    assert "\n" not in message and message.startswith("Kafka refused grow('topic-grow', 4)")


def test_unreachable_brokers_fail_within_the_wait_timeout() -> None:
    started = time.monotonic()
    nowhere = {"bootstrapServers": f"127.0.0.1:{free_port()}", "waitTimeoutSeconds": 2}
    with pytest.raises(TopicError) as failure:
        TopicProvider().create({"name": "t", "partitions": 1, "replicationFactor": 1, **nowhere})
    assert time.monotonic() - started < 30
    assert str(failure.value).startswith(f"no Kafka broker answered at {nowhere['bootstrapServers']}: ")
    assert "\n" not in str(failure.value)


def test_check_refuses_shrinking_and_a_new_replication_factor(broker: TansuBroker) -> None:
    provider = TopicProvider()
    olds = props(broker, "t", partitions=6)
    assert provider.check(olds, props(broker, "t", partitions=8)).failures == []
    shrink = provider.check(olds, props(broker, "t", partitions=3)).failures
    assert [f.reason for f in shrink] == ["refused: topic t cannot shrink from 6 to 3"]
    replication = provider.check(olds, props(broker, "t", partitions=6, replicationFactor=3)).failures
    assert [f.reason for f in replication] == [
        "refused: the replication factor of topic t cannot change in place (1 -> 3)"
    ]
    assert provider.check({}, props(broker, "t", partitions=0)).failures[0].property == "partitions"
    # on a new cluster (kafkaMode switch) the topic is created anew: any partitions, any replication
    moved = props(broker, "t", partitions=3, replicationFactor=3, cluster="kraft:AbC")
    assert provider.check({**olds, "cluster": "zookeeper"}, moved).failures == []


def test_diff_replaces_only_on_a_new_name(broker: TansuBroker) -> None:
    provider = TopicProvider()
    olds = props(broker, "t")
    assert provider.diff("t", olds, dict(olds)).changes is False
    grown = provider.diff("t", olds, props(broker, "t", partitions=5))
    assert grown.changes is True and grown.replaces == []
    assert provider.diff("t", olds, props(broker, "renamed")).replaces == ["name"]
    new_cluster = provider.diff("t", {**olds, "cluster": "zookeeper"}, {**olds, "cluster": "kraft:AbC"})
    assert new_cluster.replaces == ["cluster"]  # created again on the new cluster
