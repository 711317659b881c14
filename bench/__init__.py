"""Benchmarks: `python -m bench` prints one `bench: <id> key=value ...` line per benchmark."""
