"""`make bench`: the stack under k6 load, a per-second CPU and memory sampler, the bare-workflow
baseline, and the report in docs/bench/. `python -m loadtests.bench --help`."""
