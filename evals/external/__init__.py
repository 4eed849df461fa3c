"""External benchmarks read from ../shared/data (see each SOURCE.md)."""
