-- One row per report. Prices are exact decimals; T64 packs each block to the bits its range needs.
CREATE TABLE IF NOT EXISTS ${database}.${target}
(
${target_columns}
)
ENGINE = MergeTree
PARTITION BY toDate(timestamp)
ORDER BY ${order_by}
TTL toDate(timestamp) + INTERVAL ${retention_days} DAY
SETTINGS ttl_only_drop_parts = 1
