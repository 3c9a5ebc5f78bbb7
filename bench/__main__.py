"""``make bench``: every benchmark of the platform, one after the other, then one summary.

Each bench prints its absolute figures beside an anchor measured in the same run (see
:mod:`bench.harness`) and "met"/"missed" for each of its targets. ``python -m bench`` exits
non-zero when any target was missed or any bench failed or exited non-zero.

``python -m bench --quick`` (``make bench ARGS=--quick``): small counts and short phases, to
check in a minute or two that every bench runs; its figures are a smoke check, not results.

Benchmarks that measure the running platform expect ``make run`` in another terminal; they find
its gateway where ``make run`` puts it (``GATEWAY_URL``, else platform.toml's gateway port moved
by ``PORT_BASE``/``GATEWAY_PORT``). The others start what they measure themselves. Run one alone
with ``python -m bench.<name>`` (or ``python -m bench <name> ...``).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import sys
import time

from bench import harness

#: events_bench last: its 1,000,000-event drains write gigabytes into PostgreSQL, JetStream and
#: RabbitMQ, and every bench after them measured about half its ratios (see harness.settle)
BENCHES = [
    "analytics_bench",
    "gateway_bench",
    "task_read_bench",
    "tasks_bench",
    "chat_bench",
    "integrations_bench",
    "notifications_bench",
    "meetings_bench",
    "calendar_bench",
    "files_bench",
    "realtime_bench",
    "web_bench",
    "events_bench",
]


def run_one(name: str, module: object) -> bool:
    """Run a bench's ``main``; True when it finished with exit status 0."""
    main = module.main  # type: ignore[attr-defined]
    saved = sys.argv
    sys.argv = [f"bench.{name}"]
    # a bench may set what its in-process servers read (notifications: EVENTS_ENABLED=false);
    # the next bench's platform inherits os.environ, so each bench gets the environment it
    # would have alone (realtime's platform once ran without its event runtime: 0 frames)
    environ = dict(os.environ)
    try:
        params = inspect.signature(main).parameters
        code = main([]) if params else main()
    except SystemExit as exc:
        code = exc.code
        if isinstance(code, str):  # SystemExit("why"): say why
            print(f"!! {name}: {code}")
    except Exception as exc:
        print(f"!! {name} failed: {type(exc).__name__}: {exc}")
        return False
    finally:
        sys.argv = saved
        os.environ.clear()
        os.environ.update(environ)
    return code in (0, None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"which to run (default all: {BENCHES})")
    parser.add_argument(
        "--quick", action="store_true", help="small counts, short phases (a smoke check)"
    )
    args = parser.parse_args(argv)
    # one line per figure as it comes, also when make bench's output goes to a file
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    if args.quick:
        harness.QUICK = True
        os.environ["BENCH_QUICK"] = "1"  # for benches run in child processes
    failed: list[str] = []
    first = True
    print(f"bench: load average {harness.loadavg()}, {os.cpu_count()} cores")
    for name in args.names or BENCHES:
        name = name.removeprefix("bench.").removesuffix(".py")
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            print(f"== {name}: cannot import ({exc}); counted as failed")
            failed.append(name)
            continue
        print(f"\n== {name}", flush=True)
        if not first:
            waited, busy = harness.settle(limit=harness.quick(120.0, 20.0))
            print(f"   settled {waited:.0f}s: CPU {busy:.0%} busy", flush=True)
        first = False
        used = harness.pg_connections()
        if used is not None:
            print(f"   postgres: {used[0]} of {used[1]} connections in use", flush=True)
        started = time.perf_counter()
        if not run_one(name, module):
            failed.append(name)
        print(f"== {name} took {time.perf_counter() - started:.1f}s", flush=True)
    text, code = harness.summary(harness.REPORTS, failed)
    print(text)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
