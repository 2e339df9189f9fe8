"""``caseclock webhook add|list|remove`` and ``caseclock export stages`` on a real SQLite file."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from adapters import build_engine
from api.cli import app
from workflow.model import Actor

runner = CliRunner()
PLEDGE = "patent_pledge_registration"


def run(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


def _pledge_through_a_supplement(db: str, org: str) -> str:
    engine = build_engine(db)
    clerk, examiner = Actor("c", {"clerk"}, org), Actor("e", {"examiner"}, org)
    case = engine.open_case(PLEDGE, actor=clerk, data={
        "channel": "paper", "pledgor": "武汉光谷智能装备有限公司", "pledgee": "招商银行武汉分行",
        "patent_numbers": "ZL202310000001.X"})  # what accepting needs (issue 16)
    engine.fire(case.id, "accept", actor=clerk)
    engine.assign(case.id, "e", actor=Actor("s", {"supervisor"}, org))  # no stage
    engine.fire(case.id, "request_supplement", actor=examiner, data={"supplement_items": "合同原件"})
    engine.fire(case.id, "resubmit", actor=clerk)
    engine.fire(case.id, "approve", actor=examiner)
    engine.store.dispose()
    return case.id


def test_export_stages_writes_json_lines_and_resumes(tmp_path):
    db = f"sqlite:///{tmp_path / 'feed.db'}"
    wh = _pledge_through_a_supplement(db, "420100")
    out = tmp_path / "stages.jsonl"
    code, stdout, stderr = run("export", "stages", "--db", db, "--out", str(out))
    assert code == 0, stderr
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [m["stage"] for m in lines] == ["申办", "受理", "补正告知", "补正受理", "办结"]
    first, last = lines[0], lines[-1]
    assert first["schema"] == "caseclock.stage/1" and first["case_id"] == wh and first["item_name"] == "专利权质押登记"
    assert first["org_name"] == "武汉市" and first["state_label"] == "已接收" and first["item_code"] is None
    assert lines[1]["step_label"] == "受理" and lines[1]["trigger"] == "accept"
    assert last["final"] is True and last["result"] == "准予登记" and last["seq"] == 6
    assert len({m["message_id"] for m in lines}) == 5
    nxt = re.search(r"next cursor: (\d+)", stderr).group(1)
    assert "wrote 5 stage messages" in stderr
    # nothing new: nothing written; then a Yichang case: only its messages, from the cursor
    code, stdout, stderr = run("export", "stages", "--db", db, "--since", nxt)
    assert code == 0 and stdout == "" and f"next cursor: {nxt}" in stderr
    yc = _pledge_through_a_supplement(db, "420500")
    code, stdout, stderr = run("export", "stages", "--db", db, "--since", nxt)
    got = [json.loads(line) for line in stdout.splitlines()]
    assert code == 0 and {m["case_id"] for m in got} == {yc} and len(got) == 5
    # an org's own, and a limit that stops mid-way with a cursor that resumes right after
    code, stdout, _ = run("export", "stages", "--db", db, "--org", "420500")
    assert {json.loads(line)["org"] for line in stdout.splitlines()} == {"420500"}
    code, stdout, stderr = run("export", "stages", "--db", db, "--limit", "2")
    assert [json.loads(line)["stage"] for line in stdout.splitlines()] == ["申办", "受理"]
    half = re.search(r"next cursor: (\d+)", stderr).group(1)
    code, stdout, stderr = run("export", "stages", "--db", db, "--since", half, "--limit", "1")
    assert [json.loads(line)["stage"] for line in stdout.splitlines()] == ["补正告知"]
    # refused: a cursor this database did not hand out, an unknown org
    for bad in (["--since", "abc"], ["--since", "99999"], ["--org", "999999"]):
        code, _, stderr = run("export", "stages", "--db", db, *bad)
        assert code == 1, (bad, stderr)


def test_webhook_add_list_remove(tmp_path):
    db = f"sqlite:///{tmp_path / 'hooks.db'}"
    code, stdout, stderr = run("webhook", "add", "https://oa.example.cn/caseclock", "--db", db, "--org", "420100",
                               "--kind", "transition", "--kind", "escalation", "--item", PLEDGE, "--note", "OA")
    assert code == 0, stderr
    sub_id = re.search(r"subscriber (wh-[0-9a-f]+)", stdout).group(1)
    secret = stdout.strip().splitlines()[-1]
    assert len(secret) >= 32
    code, stdout, _ = run("webhook", "list", "--db", db, "--json")
    listed = json.loads(stdout)
    assert [(s["id"], s["org"], s["kinds"], s["item_id"]) for s in listed] == [
        (sub_id, "420100", ["transition", "escalation"], PLEDGE)]
    assert secret not in stdout
    code, stdout, _ = run("webhook", "list", "--db", db)
    assert code == 0 and "1 webhook subscribers" in stdout
    for bad in (["ftp://x.example/"], ["https://x.example/", "--item", "nope"], ["https://x.example/", "--secret", "short"]):
        code, _, stderr = run("webhook", "add", *bad, "--db", db)
        assert code == 1, (bad, stderr)
    code, stdout, _ = run("webhook", "remove", sub_id, "--db", db)
    assert code == 0 and "removed" in stdout
    code, _, stderr = run("webhook", "remove", sub_id, "--db", db)
    assert code == 1 and "no webhook subscriber" in stderr
    assert json.loads(run("webhook", "list", "--db", db, "--json")[1]) == []


def test_python_m_api_cli_runs_the_feed_commands():
    """``python -m api.cli`` runs cli.py as ``__main__``: the feed commands must not import it back."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-m", "api.cli", "export", "--help"], cwd=root, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "stages" in out.stdout
