-- Valid messages only: a failed parse would otherwise land as a row of default values.
CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.${target_view} TO ${database}.${target}
AS SELECT
${target_projection}
FROM ${database}.${queue}
WHERE length(_error) = 0
