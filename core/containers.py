"""What every container of ours looks like, where the program declares it and the policy pack checks it: the
capabilities it keeps, its privilege rule, and where its secrets are uploaded."""

SECRETS_DIR = "/run/secrets"
# Every container drops every capability. An image whose entrypoint starts as root to chown its data and then
# switch to its own user (ClickHouse's `clickhouse su`) gets back exactly what that needs; nothing else runs as root.
ROOT_ENTRYPOINT_CAPABILITIES = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID")
NO_NEW_PRIVILEGES = "no-new-privileges:true"  # no setuid binary can raise a process's privileges
