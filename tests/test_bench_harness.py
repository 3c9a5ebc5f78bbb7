"""The bench harness' verdicts, ratios and exit codes (no timing: the figures are made up)."""

from __future__ import annotations

import ast
import math
import os
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python -m pytest` from the root already has it
    sys.path.append(str(ROOT))

from bench import __main__ as bench_main  # noqa: E402
from bench import harness  # noqa: E402

REAL_SETTLE = harness.settle


@pytest.fixture(autouse=True)
def _no_settling(monkeypatch: pytest.MonkeyPatch) -> None:
    """``make bench`` waits for a calm machine between benches; these tests' fake benches
    need no calm (under a parallel ``make test`` the machine is never calm: 20 s each)."""
    monkeypatch.setattr(harness, "settle", lambda **_: (0.0, 0.0))


def test_targets_compare_in_the_direction_given() -> None:
    r = harness.Report("x")
    assert r.target("throughput", 8000, ">=", 8000, "events/s").met
    assert not r.target("throughput", 7999, ">=", 8000, "events/s").met
    assert r.target("p99", 99, "<", 100, "ms").met
    assert not r.target("p99", 100, "<", 100, "ms").met
    assert not r.target("not measured", math.nan, ">=", 1, "x").met
    assert [t.verdict for t in r.targets] == ["met", "missed", "met", "missed", "missed"]
    with pytest.raises(ValueError, match="unknown comparison"):
        r.target("bad", 1, "==", 1, "x")


def test_ratio_targets_divide_by_the_anchor() -> None:
    r = harness.Report("x")
    t = r.ratio_target("gateway / direct", 850, 1000, ">=", 0.85, anchor_name="direct")
    assert t.value == pytest.approx(0.85)
    assert t.met
    assert not r.ratio_target("reads / bare", 690, 1000, ">=", 0.7).met
    assert not r.ratio_target("anchor failed", 690, 0, ">=", 0.7).met  # NaN never meets
    assert "anchor direct: 1,000" in t.line()
    assert "met" in t.line()
    assert math.isclose(t.margin, 0.0, abs_tol=1e-9)


def test_margin_is_positive_on_the_good_side() -> None:
    r = harness.Report("x")
    assert r.target("rate", 6000, ">=", 8000, "/s").margin == pytest.approx(-0.25)
    assert r.target("lag", 50, "<", 100, "ms").margin == pytest.approx(0.5)
    assert "(-25%)" in r.targets[0].line()


def test_finish_and_summary_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    harness.REPORTS.clear()
    ok = harness.Report("good")
    ok.figure("anchor", 10, "/s")
    ok.target("a", 2, ">=", 1, "/s", anchor=("anchor", 10))
    assert ok.finish() == 0
    bad = harness.Report("bad")
    bad.target("b", 1, ">=", 2, "/s")
    assert bad.finish() == 1
    out = capsys.readouterr().out
    assert "target >= 1.00: met" in out
    assert "target >= 2.00: missed" in out
    assert harness.summary([ok], [])[1] == 0
    text, code = harness.summary([ok, bad], ["bad"])
    assert code == 1
    assert "1/2 targets met" in text
    assert "targets missed" in text
    assert "1 bench(es) missed a target, 0 did not finish" in text
    text, code = harness.summary([ok], ["crashed"])
    assert code == 1
    assert "crashed] failed" in text
    assert "0 bench(es) missed a target, 1 did not finish" in text
    harness.REPORTS.clear()


def _fake_bench(name: str, value: float, raises: bool = False) -> None:
    def main(argv: list[str] | None = None) -> int:
        del argv
        assert harness.QUICK  # --quick reaches the benches
        if raises:
            raise RuntimeError("broker down")
        r = harness.Report(name)
        r.target("t", value, ">=", 1.0, "/s")
        return r.finish()

    module = types.ModuleType(f"bench.{name}")
    module.main = main  # type: ignore[attr-defined]
    sys.modules[f"bench.{name}"] = module


@pytest.mark.parametrize(
    ("values", "raises", "expected"),
    [((2.0, 3.0), False, 0), ((2.0, 0.5), False, 1), ((2.0, 2.0), True, 1)],
)
def test_make_bench_exits_non_zero_on_any_miss_or_failure(
    values: tuple[float, float], raises: bool, expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(harness, "QUICK", False)
    monkeypatch.setenv("BENCH_QUICK", "0")  # restored after the test, like QUICK
    harness.REPORTS.clear()
    _fake_bench("fake_one", values[0])
    _fake_bench("fake_two", values[1], raises=raises)
    try:
        assert bench_main.main(["--quick", "fake_one", "fake_two"]) == expected
    finally:
        for n in ("fake_one", "fake_two"):
            sys.modules.pop(f"bench.{n}", None)
        harness.REPORTS.clear()


def test_an_unknown_bench_is_a_failure() -> None:
    assert bench_main.main(["no_such_bench"]) == 1


def test_gateway_url_follows_the_platform_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_URL", "http://127.0.0.1:9123/")
    assert harness.gateway_url() == "http://127.0.0.1:9123"
    monkeypatch.delenv("GATEWAY_URL")
    monkeypatch.setenv("PORT_BASE", "9300")
    assert harness.gateway_url() == "http://127.0.0.1:9300"


def test_service_ports_move_with_the_gateway(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHAT_PORT", raising=False)
    monkeypatch.setenv("GATEWAY_URL", "http://127.0.0.1:9300")
    assert harness.service_port("chat") == 9403  # platform.toml: gateway 8000, chat 8103
    assert harness.service_port("chat", "http://127.0.0.1:8000") == 8103
    monkeypatch.setenv("CHAT_PORT", "9999")
    assert harness.service_port("chat") == 9999
    assert harness.service_port("no-such-service") is None


def _calls(tree: ast.AST) -> set[str]:
    """The names called in ``tree``: ``Report(...)`` gives "Report", ``x.finish()`` "finish"."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            names.add(f.id if isinstance(f, ast.Name) else getattr(f, "attr", ""))
    return names


@pytest.mark.parametrize("name", bench_main.BENCHES)
def test_every_bench_reports_to_the_summary(name: str) -> None:
    """`make bench` summarises only what a bench registered: each one builds a Report and
    finishes it (which registers it), so a new bench cannot skip the met/missed lines."""
    source = ROOT / "bench" / f"{name}.py"
    calls = _calls(ast.parse(source.read_text(), filename=str(source)))
    assert {"Report", "finish"} <= calls, f"{source.name} never builds and finishes a Report"


def test_a_bench_exiting_with_a_message_fails_and_says_why(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def main(argv: list[str] | None = None) -> int:
        del argv
        raise SystemExit("no PostgreSQL here")

    module = types.ModuleType("bench.fake_exit")
    module.main = main  # type: ignore[attr-defined]
    sys.modules["bench.fake_exit"] = module
    try:
        assert bench_main.main(["fake_exit"]) == 1
    finally:
        sys.modules.pop("bench.fake_exit", None)
    assert "!! fake_exit: no PostgreSQL here" in capsys.readouterr().out


def test_a_bench_does_not_pass_its_environment_to_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """notifications' bench sets EVENTS_ENABLED=false for its in-process app; realtime's bench,
    next in the same process, once started its platform without events (0 frames delivered)."""
    monkeypatch.delenv("VC_FAKE_ENV", raising=False)
    seen: list[str | None] = []

    def first(argv: list[str] | None = None) -> int:
        del argv
        os.environ["VC_FAKE_ENV"] = "leaked"
        return 0

    def second(argv: list[str] | None = None) -> int:
        del argv
        seen.append(os.environ.get("VC_FAKE_ENV"))
        return 0

    for name, fn in (("fake_env_one", first), ("fake_env_two", second)):
        module = types.ModuleType(f"bench.{name}")
        module.main = fn  # type: ignore[attr-defined]
        sys.modules[f"bench.{name}"] = module
    try:
        bench_main.main(["fake_env_one", "fake_env_two"])
    finally:
        for name in ("fake_env_one", "fake_env_two"):
            sys.modules.pop(f"bench.{name}", None)
    assert seen == [None]
    assert "VC_FAKE_ENV" not in os.environ


def test_machine_busy_is_a_share_of_the_cpu() -> None:
    busy = harness.machine_busy(0.2)
    assert 0.0 <= busy <= 1.0


def test_settle_waits_for_calm_but_no_longer_than_its_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)  # no CHECKPOINT: no server needed
    shares = iter([0.9, 0.8, 0.1, 0.9])
    monkeypatch.setattr(harness, "machine_busy", lambda _window: next(shares))
    waited, busy = REAL_SETTLE(limit=60.0, calm=0.25, window=0.0)
    assert busy == 0.1  # the first calm window ends the wait
    assert waited < 60.0
    monkeypatch.setattr(harness, "machine_busy", lambda _window: 1.0)
    waited, busy = REAL_SETTLE(limit=0.3, calm=0.25, window=0.0)
    assert busy == 1.0
    assert waited >= 0.3  # never calm: gives up at the limit


def test_make_bench_settles_between_benches_only(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[float] = []
    monkeypatch.setattr(harness, "settle", lambda limit: (calls.append(limit), (0.0, 0.1))[1])
    monkeypatch.setattr(bench_main, "run_one", lambda _name, _module: True)
    monkeypatch.setattr(harness, "pg_connections", lambda: None)
    monkeypatch.setattr(harness, "REPORTS", [])
    bench_main.main(["gateway_bench", "task_read_bench", "tasks_bench"])
    assert len(calls) == 2  # before the second and the third, not the first
    assert capsys.readouterr().out.count("settled 0s: CPU 10% busy") == 2


def test_events_bench_runs_last() -> None:
    assert bench_main.BENCHES[-1] == "events_bench"
