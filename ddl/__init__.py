"""The pipeline's ClickHouse schema: `spec` (what it is made of) and `render` (its DDL)."""
