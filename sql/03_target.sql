-- One row per report. Prices are exact decimals; T64 packs each block to the bits its range needs.
-- The Kafka engine delivers at least once: a message delivered twice has the same sorting key (its time and
-- Kafka position), so merges keep one. Every dashboard and alert query is duplicate-insensitive meanwhile.
CREATE TABLE IF NOT EXISTS ${database}.${target}
(
${target_columns}
)
ENGINE = ${target_engine}
PARTITION BY toDate(timestamp)
ORDER BY ${order_by}
TTL toDate(timestamp) + INTERVAL ${retention_days} DAY
SETTINGS ttl_only_drop_parts = 1
