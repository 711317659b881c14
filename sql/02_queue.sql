-- Kafka engine table: the consumer. It stores nothing; the materialized views below pull from it.
-- 'stream' error mode turns an unparsable message into a row with _error/_raw_message set.
CREATE TABLE IF NOT EXISTS ${database}.${queue}
(
${wire_columns}
)
ENGINE = Kafka
SETTINGS
    kafka_broker_list = '${broker_list}',
    kafka_topic_list = '${topic}',
    kafka_group_name = '${consumer_group}',
    kafka_format = 'JSONEachRow',
    kafka_handle_error_mode = 'stream',
    kafka_num_consumers = ${consumers},
    kafka_flush_interval_ms = ${flush_interval_ms},
    input_format_skip_unknown_fields = 1
