-- Per-minute rollup of the target, kept by ClickHouse itself: what the dashboard's panels read when their
-- interval is a minute or more. Each row holds partial aggregates of a minute of reports (the view below
-- adds one row per minute per insert block); queries combine them again with sum/min/max, so results are
-- the same before and after background merges. Built from scratch with a backfill from the target, so a
-- rollup added to (or rebuilt on) an existing stack covers every stored row, and a create that runs again
-- (a retried `up`) rebuilds instead of counting rows twice.
DROP VIEW IF EXISTS ${database}.${rollup_view} SYNC;
DROP TABLE IF EXISTS ${database}.${rollup} SYNC;
CREATE TABLE ${database}.${rollup}
(
${rollup_columns}
)
ENGINE = AggregatingMergeTree
PARTITION BY toDate(minute)
ORDER BY minute
TTL toDate(minute) + INTERVAL ${retention_days} DAY
SETTINGS ttl_only_drop_parts = 1;
INSERT INTO ${database}.${rollup}
${rollup_select};
CREATE MATERIALIZED VIEW ${database}.${rollup_view} TO ${database}.${rollup}
AS ${rollup_select}
