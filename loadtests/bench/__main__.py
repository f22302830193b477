"""python -m loadtests.bench [--size full|subset]   (PROFILE=postgres for the PostgreSQL profile)

full (`make bench`): burst, constant rate, ramp to saturation, overload, then the baseline;
writes docs/bench/ (docs/bench/postgres/ for PROFILE=postgres).
subset (`make test`): a short constant-rate run on the default profile; prints its figures and
fails only on errors or orders that did not complete, never on latency.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from deploy.stack.paths import ROOT, RUN_DIR
from deploy.stack.runner import profile_from_env
from loadtests.bench import results
from loadtests.bench.plan import FULL, SUBSET
from loadtests.bench.run import BenchRun, run, say


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--size", choices=("full", "subset"), default=os.environ.get("BENCH_SIZE") or "full"
    )
    parser.add_argument(
        "--render", type=Path, help="write the report again from a saved run's results file"
    )
    args = parser.parse_args(argv)
    if args.render:
        bench = results.load(args.render)
        return _write(bench)
    profile = profile_from_env()
    bench = run(FULL if args.size == "full" else SUBSET, profile)
    saved = results.save(bench, RUN_DIR / "bench" / f"results-{bench.size}-{profile}.json")
    print(f"    figures and samples: {saved}", flush=True)
    if args.size == "subset":
        broken = [p for s in bench.scenarios for p in s.problems if "dropped" not in p]
        for problem in broken:
            print(f"FAILED: {problem}", file=sys.stderr)
        say(f"subset done in {bench.timings['whole run']:.0f} s")
        return 1 if broken or not all(s.finished for s in bench.scenarios) else 0
    return _write(bench)


def _write(bench: BenchRun) -> int:
    from loadtests.bench.report import write_report  # matplotlib: only for the full report

    out = ROOT / "docs" / "bench" / ("" if bench.profile == "sqlite" else bench.profile)
    write_report(bench, out)
    say(f"report written to {out / 'README.md'} (run took {bench.timings['whole run']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
