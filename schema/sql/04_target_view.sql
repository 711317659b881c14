-- Valid messages only: a failed parse would otherwise land as a row of default values.
CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.${target_view} TO ${database}.${target}
AS SELECT
    toDateTime64(timestamp, 3) AS timestamp,
${level_names},
    stats[1] AS bid_avg,
    stats[2] AS ask_avg,
    producer_id,
    sequence,
    _partition AS _partition,
    _offset AS _offset,
    ifNull(_timestamp_ms, now64(3)) AS _timestamp_ms
FROM ${database}.${queue}
WHERE length(_error) = 0
