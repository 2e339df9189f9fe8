"""The child of the crash test: fires transitions in a loop on a SQLite file until killed.

After each ``fire`` returns it appends ``case_id version state`` to the ack file with one
``write`` (the kernel has it once write returns: a SIGKILL cannot lose it)."""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from adapters import build_engine  # noqa: E402
from workflow import Actor  # noqa: E402

ACTOR = Actor("crash", {"clerk", "examiner", "leader"}, org="420000")
NEXT = {  # state -> (trigger, data)
    "received": ("accept", None),
    "under_review": ("request_supplement", {"notice": "请补正"}),
    "awaiting_supplement": ("resubmit", None),
}


def main() -> None:
    url, acks = sys.argv[1], sys.argv[2]
    engine = build_engine(url, definitions=[ROOT / "tests" / "fixtures" / "pledge.yaml"])
    fd = os.open(acks, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    cases = [c.id for c in engine.list_cases(open=True)]
    rnd = random.Random()
    print("ready", flush=True)
    while True:
        if len(cases) < 8 or rnd.random() < 0.05:
            case = engine.open_case("pledge", actor=ACTOR, data={"applicant": "甲"})
            cases.append(case.id)
        else:
            cid = rnd.choice(cases)
            state = engine.get_case(cid).state
            if rnd.random() < 0.03 and state == "under_review":
                trigger, data = "approve", None
            else:
                trigger, data = NEXT[state]
            case = engine.fire(cid, trigger, actor=ACTOR, data=data)
            if case.final:
                cases.remove(cid)
        os.write(fd, f"{case.id} {case.version} {case.state}\n".encode())


if __name__ == "__main__":
    main()
