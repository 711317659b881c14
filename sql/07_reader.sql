-- Grafana's read-only user. The plugin sets max_execution_time per query, so it must stay changeable.
-- It reads the pipeline database and, for the Kafka-consumer panels, system.kafka_consumers: ClickHouse
-- requires a grant for most system tables (access_control_improvements.select_from_system_db_requires_grant),
-- and returns that table's rows only to a user holding SHOW TABLES on *.* (StorageSystemKafkaConsumers.cpp).
-- On this stack's own server that shows table names and DDL, never data (docs/schema.md).
CREATE SETTINGS PROFILE OR REPLACE ${reader_profile}
SETTINGS readonly = 1, ${reader_limits};
CREATE USER OR REPLACE ${reader_user} IDENTIFIED WITH sha256_password BY ${reader_password}
SETTINGS PROFILE '${reader_profile}';
CREATE QUOTA OR REPLACE ${reader_quota} FOR INTERVAL ${reader_quota_interval} MAX ${reader_quota_limits} TO ${reader_user};
GRANT SELECT ON ${database}.* TO ${reader_user};
GRANT SELECT ON system.kafka_consumers TO ${reader_user};
GRANT SHOW TABLES ON *.* TO ${reader_user}
