"""python -m loadtests.bench [--size full|subset|soak]   (PROFILE=postgres for PostgreSQL)

full (`make bench`): burst, constant rate, ramp to saturation, overload, then the baseline;
writes docs/bench/ (docs/bench/postgres/ for PROFILE=postgres).
soak (`make soak`): 20,000 orders in a closed loop with a 2 min retention; writes
docs/bench/soak/ (memory and the workflow state store over time: do they level off?).
subset (`make test`): a short constant-rate run on the default profile with a 10 s retention;
prints its figures and fails only on errors, orders that did not complete or a state store that
was not purged afterwards, never on latency.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from deploy.stack.paths import ROOT, RUN_DIR
from deploy.stack.plan import profile_from_env
from loadtests.bench import results
from loadtests.bench.plan import PLANS
from loadtests.bench.run import BenchRun, run, say
from loadtests.bench.statestore import purged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--size", choices=tuple(PLANS), default=os.environ.get("BENCH_SIZE") or "full"
    )
    parser.add_argument(
        "--render", type=Path, help="write the report again from a saved run's results file"
    )
    args = parser.parse_args(argv)
    if args.render:
        bench = results.load(args.render)
        return _write(bench)
    profile = profile_from_env()
    plan = PLANS[args.size]
    bench = run(plan, profile)
    saved = results.save(bench, RUN_DIR / "bench" / f"results-{bench.size}-{profile}.json")
    print(f"    figures and samples: {saved}", flush=True)
    if args.size == "subset":
        broken = [p for s in bench.scenarios for p in s.problems if "dropped" not in p]
        broken += purge_problems(bench)
        for problem in broken:
            print(f"FAILED: {problem}", file=sys.stderr)
        say(f"subset done in {bench.timings['whole run']:.0f} s")
        return 1 if broken or not all(s.finished for s in bench.scenarios) else 0
    return _write(bench)


def purge_problems(bench: BenchRun) -> list[str]:
    if bench.retention is None:
        return []  # a stack that was already running: its retention is its own
    if not bench.state or bench.purged_to is None:
        return ["the workflow state store could not be read"]
    base, peak = bench.state[0].rows, max(s.rows for s in bench.state)
    if not purged(base, peak, bench.purged_to):
        return [
            f"workflow state store not purged: {bench.purged_to} rows left, {base} before the "
            f"run, peak {peak} (retention {bench.retention})"
        ]
    return []


def _write(bench: BenchRun) -> int:
    # matplotlib: only for the full reports
    from loadtests.bench.report import write_report
    from loadtests.bench.soak_report import write_soak_report

    out = ROOT / "docs" / "bench" / ("" if bench.profile == "sqlite" else bench.profile)
    if bench.size == "soak":
        write_soak_report(bench, out / "soak")
        out = out / "soak"
    else:
        write_report(bench, out)
    say(f"report written to {out / 'README.md'} (run took {bench.timings['whole run']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
