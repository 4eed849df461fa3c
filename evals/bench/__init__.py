"""Performance benchmarks (issue 14): each script prints its figures and writes JSON under
`evals/bench/results/`. Timings live here, never in pass/fail tests. See docs/PERFORMANCE.md."""
