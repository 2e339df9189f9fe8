"""Profile of one step: cProfile over N ``Engine.fire`` calls on a fresh SQLite file, top entries.

    .venv/bin/python bench/profile_step.py                     # 300 cases x 4 steps, NORMAL, top 25 by tottime
    .venv/bin/python bench/profile_step.py --sort cumulative --top 40
    .venv/bin/python bench/profile_step.py --sync FULL --cases 500 --out /tmp/step.prof

The cases are the store bench's (bench/store_bench.py): pledge registrations opened first (not
profiled), then each goes ``accept``, ``request_supplement`` (pauses its clock), ``resubmit``
(resumes it), ``approve`` (stops it). Only the fire calls are profiled. Printed first: the CPU
time per step without the profiler (the same run again on a second file), the load average, and
how many statements each step ran; then the profiler's top entries (timed in CPU time, so
other processes' load on a shared machine does not inflate them).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from store_bench import ACTOR, SCRIPT, _engine  # noqa: E402


class _Opcodes:
    """Counts the Python bytecode instructions executed (sys.settrace with opcode events): a
    measure of the Python work of a step that other processes' load cannot change. Code in C
    (sqlite3, the json encoder, hashing) counts as the one instruction that calls it."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, frame, event, arg):  # type: ignore[no-untyped-def]
        frame.f_trace_opcodes = True
        if event == "opcode":
            self.n += 1
        return self

    def enable(self) -> None:
        sys.settrace(self)

    def disable(self) -> None:
        sys.settrace(None)


def _run(folder: Path, name: str, sync: str, cases: int, steps: int,
         profiler: cProfile.Profile | _Opcodes | None) -> tuple[float, float]:
    """(CPU seconds of the fire calls, statements per step)."""
    engine = _engine(folder / f"{name}.db", sync)
    ids = [engine.open_case("pledge", actor=ACTOR, data={"applicant": "甲公司"}).id for _ in range(cases)]
    store = engine.store
    store.trace = trace = []
    c0 = time.process_time()
    if profiler is not None:
        profiler.enable()
    for step in range(steps):
        trigger, data = SCRIPT[step % len(SCRIPT)]
        for cid in ids:
            engine.fire(cid, trigger, actor=ACTOR, data=data)
    if profiler is not None:
        profiler.disable()
    cpu = time.process_time() - c0
    store.trace = None
    store.dispose()
    return cpu, len(trace) / (cases * steps)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=300)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--sync", default="NORMAL", choices=["FULL", "NORMAL"])
    ap.add_argument("--sort", default="tottime", help="pstats sort key (tottime, cumulative, …)")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--out", type=Path, default=None, help="also save the raw profile here")
    ap.add_argument("--no-profile", action="store_true", help="only the unprofiled CPU time a step")
    ap.add_argument("--opcodes", action="store_true",
                    help="also count the bytecode instructions a step (slow: use --cases 100)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="unprofiled runs (the least CPU time is printed: others' load only adds)")
    args = ap.parse_args()
    n = args.cases * args.steps
    with tempfile.TemporaryDirectory(dir=ROOT / "bench", prefix=".profile-") as tmp:
        # unprofiled first (the profiler itself costs more than the code it measures)
        runs = [_run(Path(tmp), f"plain{i}", args.sync, args.cases, args.steps, None) for i in range(args.repeat)]
        cpu, per = min(runs)
        ops = ""
        if args.opcodes:
            counter = _Opcodes()
            _run(Path(tmp), "opcodes", args.sync, args.cases, args.steps, counter)
            ops = f"; {counter.n / n:,.0f} bytecode instructions a step"
        if args.no_profile:
            print(f"profile_step: {n:,} fire calls, synchronous={args.sync}, load average "
                  f"{os.getloadavg()[0]:.2f}: {cpu / n * 1e6:,.0f} µs CPU a step ({n / cpu:,.0f} steps/cpu-s), "
                  f"least of {args.repeat}; {per:.1f} statements a step{ops}")
            return 0
        # CPU time, not wall time: on a shared machine the wall clock counts other processes' turns
        prof = cProfile.Profile(time.process_time)
        pcpu, _ = _run(Path(tmp), "profiled", args.sync, args.cases, args.steps, prof)
    print(f"profile_step: {n:,} fire calls ({args.cases} cases x {args.steps}), synchronous={args.sync}, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"unprofiled: {cpu / n * 1e6:,.0f} µs CPU a step ({n / cpu:,.0f} steps/cpu-s); "
          f"{per:.1f} statements a step (the trace; BEGIN and COMMIT included){ops}")
    print(f"profiled:   {pcpu:.2f} s CPU in all")
    if args.out:
        prof.dump_stats(str(args.out))
    buf = io.StringIO()
    st = pstats.Stats(prof, stream=buf)
    st.strip_dirs().sort_stats(args.sort).print_stats(args.top)
    lines = buf.getvalue().splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls")), 0)
    print("\n".join(lines[start:]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
