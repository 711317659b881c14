"""The foundation every other package stands on, and which imports nothing of ours: the wire contract (`contract`),
the rules a configuration value is checked with (`rules`), the generator's configuration as its environment
carries it (`generator_config`), image pinning (`images`), what every container of ours looks like
(`containers`) and the one ClickHouse client (`clickhouse`). The generator, the schema (`ddl`), the dashboards,
the policy pack, `verify` and the program are siblings above it."""
