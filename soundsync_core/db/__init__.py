"""PostgreSQL access: the pool, the embedded server and the schema migrations."""
