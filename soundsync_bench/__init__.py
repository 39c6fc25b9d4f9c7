"""Benchmarks behind ``soundsync bench …``; each writes its own section of BENCHMARKS.md."""
