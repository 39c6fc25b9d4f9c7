"""Use cases: each takes its dependencies (pool, settings, clients) explicitly."""
