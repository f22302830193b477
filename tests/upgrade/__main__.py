"""`make upgrade`: the full rolling upgrade on single instances (profile sqlite), then with
REPLICAS=2 (profile postgres), each on its own stack; prints the figures and writes them into
docs/upgrade.md. Exit status 1 if either run had a problem."""

from __future__ import annotations

import sys
import time

from tests.upgrade import rollout
from tests.upgrade.report import Result, details, table, write_doc
from tests.upgrade.stack import old_release

RUNS = [("sqlite", 1), ("postgres", 2)]


def main() -> int:
    began = time.monotonic()
    results: list[Result] = []
    for profile, replicas in RUNS:
        with old_release(profile, replicas) as api:
            result = rollout.run(api, profile, replicas, rollout.SIZES["full"])
        result.save()
        results.append(result)
        print(table([result]), flush=True)
    took = time.monotonic() - began
    print(table(results))
    for result in results:
        print(details(result))
    write_doc(results, took)
    print(f"make upgrade took {took:.0f}s; written into docs/upgrade.md")
    return 1 if any(r.problems() for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
