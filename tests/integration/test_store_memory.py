"""Opening many cases does not grow the engine's resident memory beyond its bounded caches
(the store keeps nothing per case in memory: rows live in the database)."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

from adapters import build_engine
from workflow import Actor

PLEDGE = Path(__file__).resolve().parents[1] / "fixtures" / "pledge.yaml"
ACTOR = Actor("mem", {"clerk"}, org="420000")
WARM, MORE = 4_000, 16_000
BOUND_MB = 12  # measured: flat after the first few thousand; caches at their configured size, allocator slack


def rss_mb() -> float:
    """Resident set size from /proc/self/statm (pages → MiB); no psutil needed."""
    with open("/proc/self/statm") as f:
        resident = int(f.read().split()[1])
    return resident * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs /proc (Linux)")
def test_opening_many_cases_keeps_memory_flat(tmp_path):
    engine = build_engine(f"sqlite:///{tmp_path / 'mem.db'}", definitions=[PLEDGE],
                          store_options={"synchronous": "OFF"})
    for _ in range(WARM):  # fill the caches to their bounds first
        engine.open_case("pledge", actor=ACTOR)
    gc.collect()
    before = rss_mb()
    for _ in range(MORE):
        engine.open_case("pledge", actor=ACTOR)
    gc.collect()
    grown = rss_mb() - before
    assert len(engine.list_cases(limit=5)) == 5
    engine.store.dispose()
    assert grown < BOUND_MB, f"resident memory grew {grown:.1f} MiB over {MORE} cases"
