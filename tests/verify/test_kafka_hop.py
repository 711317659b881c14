"""verify's Kafka hop against a real Kafka-protocol broker (tansu): the topic as configured, canaries acknowledged
where the broker put them, a broker that stops answering."""

from __future__ import annotations

import json
import re
import time

import pytest
from kafka import KafkaConsumer, TopicPartition

from core.contract import ReportShape
from testbed.broker import TansuBroker, abandon, free_port
from testbed.tcp_proxy import TcpProxy
from testbed.verify_support import make_topic
from verify import kafka_hop
from verify.checks import Failed
from verify.kafka_hop import CANARY_KEY, KafkaHop, canary_report, price_above, stored_ms


def test_topic_check_passes_as_configured_and_names_what_differs(broker: TansuBroker) -> None:
    topic, hop = make_topic(broker), KafkaHop(broker.bootstrap)
    assert hop.check_topic(topic, 3, 1) == f"topic {topic}: 3 partitions, replication 1"
    with pytest.raises(Failed, match="expected 6 partitions with replication 1, saw 3 partitions with replication 1"):
        hop.check_topic(topic, 6, 1)
    with pytest.raises(Failed, match="saw no such topic"):
        hop.check_topic("no-such-topic", 3, 1)


def test_canaries_are_acknowledged_where_the_broker_put_them(broker: TansuBroker) -> None:
    topic, shape = make_topic(broker, partitions=1), ReportShape(bid_size=3, ask_size=2)
    canaries = KafkaHop(broker.bootstrap).produce(topic, [canary_report(shape) for _ in range(3)])
    assert [(c.partition, c.offset) for c in canaries] == [(0, 0), (0, 1), (0, 2)]
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None, enable_auto_commit=False)
    consumer.assign([TopicPartition(topic, 0)])
    consumer.seek_to_beginning()
    records = [r for batch in consumer.poll(timeout_ms=5000, max_records=10).values() for r in batch]
    consumer.close()
    assert [(r.key, r.offset) for r in records] == [(CANARY_KEY, 0), (CANARY_KEY, 1), (CANARY_KEY, 2)]
    report = json.loads(records[0].value)
    assert set(report) == {"timestamp", "bid_1", "bid_2", "bid_3", "ask_1", "ask_2", "stats"}


def test_an_alert_canary_puts_level_1_just_above_the_threshold() -> None:
    assert price_above(9.9, 1) == 10.0 and price_above(9.95, 2) == 9.96 and price_above(9.9, 0) == 10
    assert stored_ms(canary_report(ReportShape())) % 1000 == 999  # the tag that tells canaries apart
    report = json.loads(canary_report(ReportShape(), level_1=(10.0, 10.0)))
    assert (report["bid_1"] + report["ask_1"]) / 2 > 9.9


def test_a_canary_sits_in_the_middle_of_each_levels_range() -> None:
    report = json.loads(canary_report(ReportShape(bid_size=2, ask_size=1, random_start=1, random_decimal=1)))
    del report["timestamp"]
    assert report == {"bid_1": 5.5, "bid_2": 10.5, "ask_1": 5.5, "stats": [8.0, 5.5]}
    whole = json.loads(canary_report(ReportShape(bid_size=1, ask_size=1, random_start=1, random_decimal=0)))
    assert whole["bid_1"] == 6.0 and isinstance(whole["bid_1"], float)  # a Decimal(…, 0) column takes 6.0
    alerting = json.loads(canary_report(ReportShape(bid_size=2, ask_size=2), level_1=(9.8, 10.2)))
    assert (alerting["bid_1"], alerting["ask_1"], alerting["bid_2"]) == (9.8, 10.2, 10.5)


def test_canaries_wait_for_every_in_sync_replica(broker: TansuBroker, monkeypatch: pytest.MonkeyPatch) -> None:
    import kafka  # noqa: PLC0415 -- the class the hop imports on use

    made: list[dict] = []
    real = kafka.KafkaProducer
    monkeypatch.setattr(kafka, "KafkaProducer", lambda **config: made.append(config) or real(**config))
    [canary] = KafkaHop(broker.bootstrap).produce("acks", [canary_report(ReportShape())])
    assert made[0]["acks"] == "all" and made[0]["bootstrap_servers"] == [broker.bootstrap]
    assert made[0]["bootstrap_timeout_ms"] == kafka_hop.BOOTSTRAP_TIMEOUT_MS  # a missing broker fails the check soon
    assert canary.acked_at <= time.time() and canary.timestamp_ms % 1000 == 999


def test_the_kafka_hop_tries_every_bootstrap_server_and_describes_only_its_topic(broker: TansuBroker) -> None:
    topic = make_topic(broker)
    make_topic(broker)  # another topic on the same broker: not ours to describe
    hop = KafkaHop(f"127.0.0.1:{free_port()},{broker.bootstrap}")  # the first server listed is down
    assert hop.check_topic(topic, 3, 1) == f"topic {topic}: 3 partitions, replication 1"
    with pytest.raises(Failed) as missing:
        hop.check_topic("no-such-topic", 3, 1)
    assert str(missing.value) == "expected topic no-such-topic, saw no such topic"


def test_canaries_go_out_back_to_back_unless_spaced(broker: TansuBroker) -> None:
    topic = make_topic(broker, partitions=1)
    began = time.monotonic()
    KafkaHop(broker.bootstrap).produce(topic, [canary_report(ReportShape()) for _ in range(4)])
    assert time.monotonic() - began < 3


def test_a_broker_that_stops_answering_fails_the_canaries_in_one_line_within_the_waits(
    cuttable: tuple[TansuBroker, TcpProxy], monkeypatch: pytest.MonkeyPatch
) -> None:
    import kafka  # noqa: PLC0415 -- the class the hop imports on use

    broker, proxy = cuttable
    topic = make_topic(broker, partitions=1)
    real = kafka.KafkaProducer

    def answering_until_the_send(**config: object) -> kafka.KafkaProducer:
        producer = real(**config)
        producer.partitions_for(topic)  # connected and the topic's leader known: then the broker goes quiet
        proxy.silence()
        return producer

    made: list[kafka.KafkaProducer] = []
    monkeypatch.setattr(
        kafka, "KafkaProducer", lambda **config: made.append(answering_until_the_send(**config)) or made[-1]
    )
    monkeypatch.setattr(kafka_hop, "ACK_TIMEOUT_S", 0.5)
    monkeypatch.setattr(kafka_hop, "CLOSE_TIMEOUT_S", 0.5)
    began = time.monotonic()
    with pytest.raises(Failed) as failure:
        KafkaHop(broker.bootstrap).produce(topic, [canary_report(ReportShape())])
    assert str(failure.value) == "expected canary 1 acknowledged within 0.5 s, saw no answer"
    assert time.monotonic() - began < 0.5 + 0.5 + 2  # the acknowledgement's wait, then the close's
    abandon(made[0])


@pytest.mark.usefixtures("quick_to_give_up")
def test_no_broker_at_any_server_fails_both_kafka_checks_naming_the_servers_and_the_wait() -> None:
    servers = f"127.0.0.1:{free_port()},127.0.0.1:{free_port()}"
    hop = KafkaHop(servers)
    for check in (lambda: hop.check_topic("metrics_raw", 3, 1), lambda: hop.produce("metrics_raw", [b"{}"])):
        with pytest.raises(Failed) as failure:
            check()
        # what the client said, type first: here it gave up bootstrapping after the 0.3 s quick_to_give_up allows
        expected = rf"expected a broker answering at {re.escape(servers)} within 0\.3 s, saw KafkaTimeoutError: .+"
        assert re.fullmatch(expected, str(failure.value)), failure.value


def test_a_broker_that_goes_away_while_the_topic_is_described_fails_naming_the_topic_and_the_error(
    cuttable: tuple[TansuBroker, TcpProxy], monkeypatch: pytest.MonkeyPatch
) -> None:
    import kafka.admin  # noqa: PLC0415 -- the class the hop imports on use

    broker, proxy = cuttable
    topic = make_topic(broker)
    real = kafka.admin.KafkaAdminClient

    def bootstrapped_then_cut(**config: object) -> kafka.admin.KafkaAdminClient:
        admin = real(**config)
        proxy.cut()
        return admin

    monkeypatch.setattr(kafka.admin, "KafkaAdminClient", bootstrapped_then_cut)
    with pytest.raises(Failed) as failure:
        KafkaHop(broker.bootstrap).check_topic(topic, 3, 1)
    assert str(failure.value).startswith(f"expected topic {topic} described by the broker, saw KafkaConnectionError")


def test_a_topic_whose_partitions_no_broker_names_in_time_fails_naming_the_topic_and_the_wait(
    cuttable: tuple[TansuBroker, TcpProxy], monkeypatch: pytest.MonkeyPatch
) -> None:
    import kafka  # noqa: PLC0415 -- the class the hop imports on use

    broker, proxy = cuttable
    real = kafka.KafkaProducer

    def bootstrapped_then_cut(**config: object) -> kafka.KafkaProducer:
        producer = real(**config, max_block_ms=500)  # how long a send waits for the topic's metadata
        proxy.cut()
        return producer

    monkeypatch.setattr(kafka, "KafkaProducer", bootstrapped_then_cut)
    with pytest.raises(Failed) as failure:
        KafkaHop(broker.bootstrap).produce("never-described", [canary_report(ReportShape())])
    expected = r"expected topic never-described's partitions known to a broker, saw KafkaTimeoutError: .+"
    assert re.fullmatch(expected, str(failure.value)), failure.value
