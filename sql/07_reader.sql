-- Grafana's read-only user. The plugin sets max_execution_time per query, so it must stay changeable.
CREATE SETTINGS PROFILE OR REPLACE ${reader_profile}
SETTINGS readonly = 1, max_execution_time = 60 CHANGEABLE_IN_READONLY;
CREATE USER OR REPLACE ${reader_user} IDENTIFIED WITH sha256_password BY ${reader_password}
SETTINGS PROFILE '${reader_profile}';
GRANT SELECT ON ${database}.* TO ${reader_user}
