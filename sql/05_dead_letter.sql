-- Messages that failed to parse, kept verbatim with the parser's error and their Kafka position.
CREATE TABLE IF NOT EXISTS ${database}.${dead_letter}
(
    seen_at DateTime64(3) CODEC(DoubleDelta, ZSTD(1)),
    topic LowCardinality(String),
    partition UInt32,
    offset UInt64,
    raw_message String CODEC(ZSTD(3)),
    error String CODEC(ZSTD(3))
)
ENGINE = MergeTree
PARTITION BY toDate(seen_at)
ORDER BY (seen_at, partition, offset)
TTL toDate(seen_at) + INTERVAL ${retention_days} DAY
SETTINGS ttl_only_drop_parts = 1
