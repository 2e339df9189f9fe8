"""Every page renders in Chromium at 1366×768, the worklist, a case and the applicant's pages also
on a 390×844 phone (the README's screenshots come from the same code: ``python -m api.web.screenshots``)."""

from __future__ import annotations

import struct
from pathlib import Path

from api.web.screenshots import take


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_every_page_at_1366x768(tmp_path: Path) -> None:
    shots = take(tmp_path, count=30)
    names = {p.stem for p in shots}
    assert {"sign-in", "worklist", "case", "open-case", "definition", "board", "breaches", "charts",
            "reports", "calendar", "decision", "worklist-phone", "case-phone"} <= names
    assert {"apply-items", "apply-form", "apply-receipt", "apply-supplement", "apply-rated"} <= names
    for p in shots:
        phone = p.stem.endswith("-phone") or p.stem.startswith("apply-")
        assert png_size(p) == ((390, 844) if phone else (1366, 768)), p.name
        assert p.stat().st_size > 10_000, p.name  # not a blank page
