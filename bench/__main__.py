"""``make bench``: every benchmark of the platform, one after the other, each printing its figures.

Benchmarks that measure the running platform expect ``make run`` in another terminal (gateway on
``GATEWAY_URL``, default http://127.0.0.1:8000). Run one alone with ``python -m bench.<name>``.
Targets live here, never in timed unit tests.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

BENCHES = ["events_bench", "analytics_bench", "gateway_bench", "tasks_bench", "chat_bench"]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", help=f"which to run (default all: {BENCHES})")
    args = parser.parse_args()
    failed = []
    for name in args.names or BENCHES:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError:
            print(f"== {name}: not present, skipped")
            continue
        print(f"\n== {name}")
        started = time.perf_counter()
        try:
            saved, sys.argv = sys.argv, [f"bench.{name}"]
            try:
                module.main()
            finally:
                sys.argv = saved
        except SystemExit as exc:
            if exc.code not in (0, None):
                failed.append(name)
        except Exception as exc:
            print(f"!! {name} failed: {type(exc).__name__}: {exc}")
            failed.append(name)
        print(f"== {name} took {time.perf_counter() - started:.1f}s")
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
