CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.${dead_letter_view} TO ${database}.${dead_letter}
AS SELECT
    now64(3) AS seen_at,
    _topic AS topic,
    _partition AS partition,
    _offset AS offset,
    _raw_message AS raw_message,
    _error AS error
FROM ${database}.${queue}
WHERE length(_error) > 0
