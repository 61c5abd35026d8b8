"""`make bench`: imagegate's real processes on loopback, measured; see docs/BENCHMARKS.md."""
