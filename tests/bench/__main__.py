"""``make bench``: ``python -m tests.bench [checkout|agent|imports|issuing|campaigns ...]``
(default: all of them).

Each benchmark starts the production stack on PostgreSQL and prints its figures against a
baseline measured in the same run.  Exit status 0 even when a target is missed: the figures
are the result; docs/NOTES.md says what limits them.
"""

from __future__ import annotations

import sys

from tests.bench import agent, campaigns, checkout, imports, issuing

BENCHMARKS = {"checkout": checkout.main, "agent": agent.main, "imports": imports.main,
              "issuing": issuing.main, "campaigns": campaigns.main}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
        return 2
    met = {}
    for name in names:
        print(f"\n=== {name}", flush=True)
        met[name] = BENCHMARKS[name]()
    print("\n" + "  ".join(f"{n}: {'met' if ok else 'NOT met'}" for n, ok in met.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
