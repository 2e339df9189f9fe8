"""A writer process for the change-feed tests: opens pledge cases in one org and advances them
step by step (transitions, assignments, a supplement round) until every one is closed, in an
order shuffled by ``seed``, so that several such processes commit interleaved transactions.

    python feed_writer.py URL ORG CASES SEED

Prints ``done <events>`` (the events this process committed) and exits 0.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from adapters import build_engine  # noqa: E402
from workflow.errors import VersionConflict  # noqa: E402
from workflow.model import Actor  # noqa: E402

PLEDGE = "patent_pledge_registration"


def steps(clerk: Actor, examiner: Actor, supervisor: Actor) -> list[tuple]:
    return [
        ("fire", "accept", clerk, {}),
        ("assign", examiner.id, supervisor),
        ("fire", "request_supplement", examiner, {"supplement_items": "补正：质押合同原件"}),
        ("fire", "resubmit", clerk, {}),
        ("fire", "approve", examiner, {}),
    ]


def retry(fn):
    for _ in range(200):
        try:
            return fn()
        except VersionConflict:
            continue
    raise RuntimeError("too many version conflicts")


def main(url: str, org: str, cases: int, seed: int) -> int:
    engine = build_engine(url)
    rnd = random.Random(seed)
    clerk = Actor(f"clerk-{seed}", {"clerk"}, org)
    examiner = Actor(f"examiner-{seed}", {"examiner"}, org)
    supervisor = Actor(f"supervisor-{seed}", {"supervisor"}, org)
    plan = steps(clerk, examiner, supervisor)
    todo: dict[str, int] = {}
    opened = events = 0
    while opened < cases or todo:
        if opened < cases and (not todo or rnd.random() < 0.35):
            case = retry(lambda: engine.open_case(PLEDGE, actor=clerk, data={"channel": "online", "pledgor": "甲", "pledgee": "乙", "patent_numbers": "ZL1"}))
            todo[case.id] = 0
            opened += 1
            events += 1
            continue
        cid = rnd.choice(sorted(todo))
        step = plan[todo[cid]]
        if step[0] == "fire":
            retry(lambda cid=cid, step=step: engine.fire(cid, step[1], actor=step[2], data=step[3]))
        else:
            retry(lambda cid=cid, step=step: engine.assign(cid, step[1], actor=step[2]))
        events += 1
        todo[cid] += 1
        if todo[cid] == len(plan):
            del todo[cid]
    print(f"done {events}", flush=True)
    dispose = getattr(engine.store, "dispose", None)
    if dispose is not None:
        dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
