"""Qingquan's benchmark suite: `bin/bench` (see bench/README.md)."""
