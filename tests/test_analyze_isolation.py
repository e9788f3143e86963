"""`dl-drawbacks analyze` on a run folder rebuilt from real quickstart rows (no Ray): a study reduced to one trial
still gets a section, and a study whose analysis raises leaves the other five reported and exits 1 naming it."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from dl_drawbacks import cli
from dl_drawbacks.spec import load_spec
from dl_drawbacks.storage.run_folder import LocalRunFolder

from quickstart_rows import COMPLETE, KINDS, QUICKSTART, quickstart_run_folder

pytestmark = pytest.mark.skipif(not COMPLETE, reason="tests/fixtures/rows is incomplete: run tests/fixtures/make_rows.py")
_run_folder = quickstart_run_folder


def _analyze_reports_all_six(out: Path, capsys) -> None:
    code = cli.main(["analyze", str(out)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    findings = json.loads((out / "findings.json").read_text())
    assert set(findings) == set(KINDS)
    assert code == 0, (err[-500:], {k: v.get("analysis_error") for k, v in findings.items()})
    report = (out / "report.md").read_text()
    assert all(f"## {k}" in report for k in KINDS)


def test_every_study_reduced_to_one_trial_still_reports_all_six(tmp_path, capsys):
    """The default run's guard of the per-study test below: one `analyze`, each of the six down to one trial."""
    out = _run_folder(tmp_path, keep_one_of=tuple(KINDS))
    assert len(list((out / "trials").iterdir())) == len(KINDS)
    _analyze_reports_all_six(out, capsys)


def test_a_study_is_handed_only_the_row_columns_its_kind_declares(tmp_path, monkeypatch):
    from dl_drawbacks.registry import STUDIES
    from dl_drawbacks.rows import ROW_SCHEMA

    out = _run_folder(tmp_path, keep_one_of=("compute",), kinds=["compute"])
    kind = STUDIES.get("compute")
    seen = []
    hook = kind.analyze
    monkeypatch.setattr(kind, "analyze", lambda self, rows, *a, **kw: seen.append(rows.columns)
                        or hook(self, rows, *a, **kw))
    assert cli.main(["analyze", str(out)]) == 0
    assert kind.row_columns is not None and seen == [[c for c in ROW_SCHEMA if c in kind.row_columns]]
    assert len(seen[0]) < len(ROW_SCHEMA)  # the rest were never decoded
    monkeypatch.setattr(kind, "row_columns", ("value", "valeu"))  # a plug-in's mistake: its own section says so
    assert cli.main(["analyze", str(out)]) == 1
    error = json.loads((out / "findings.json").read_text())["compute"]["analysis_error"]
    assert error.startswith("ValueError: columns: 'valeu' not row columns; choose from study, run_id,")
    assert len(seen) == 1  # refused before its analysis ran


def test_headlines_are_computed_once_stored_and_read_back_by_card_and_compare(tmp_path, capsys, monkeypatch):
    """Each kind's ``headlines`` hook runs once per `analyze`; two analyses write identical headline files; the
    card and `compare` show what the file holds (a planted edit of it shows up there)."""
    from dl_drawbacks.commands.compare import compare_lines
    from dl_drawbacks.registry import STUDIES
    from dl_drawbacks.report.card import build_card

    out = _run_folder(tmp_path, keep_one_of=("compute",), kinds=["compute"])
    calls = []
    hook = STUDIES.get("compute").headlines
    monkeypatch.setattr(STUDIES.get("compute"), "headlines", lambda self, f: calls.append(1) or hook(self, f))
    assert cli.main(["analyze", str(out)]) == 0
    first = (out / "headlines.json").read_bytes()
    assert cli.main(["analyze", str(out)]) == 0
    assert calls == [1, 1] and (out / "headlines.json").read_bytes() == first
    stored = LocalRunFolder(out).headlines()["compute"]
    assert stored and all(h.study == "compute" for h in stored)
    doc = json.loads(first)
    doc["compute"][0]["text"] = "planted headline text"
    (out / "headlines.json").write_text(json.dumps(doc))
    card = build_card([out])
    assert any(c.cells["compute"].entry and c.cells["compute"].entry.finding.startswith("planted headline text")
               for c in card if "compute" in c.cells)
    assert any("planted headline text" in line for line in compare_lines(out, out))
    assert calls == [1, 1]  # neither the card nor compare called the kind
    capsys.readouterr()


@pytest.mark.slow  # six full analyses of all six studies; the test above runs the same path once, all reduced
@pytest.mark.parametrize("kind", KINDS)
def test_one_trial_left_of_a_study_still_reports_all_six(kind, tmp_path, capsys):
    _analyze_reports_all_six(_run_folder(tmp_path, keep_one_of=(kind,)), capsys)


def test_a_raising_analysis_is_reported_and_the_others_go_on(tmp_path, capsys, monkeypatch):
    from dl_drawbacks.registry import STUDIES

    out = _run_folder(tmp_path, keep_one_of=tuple(KINDS))  # one trial each: the isolation, not the rows, is tested

    def broken(self, rows, options, *, measure):
        raise ZeroDivisionError("planted failure")

    monkeypatch.setattr(STUDIES.get("bias"), "analyze", broken)
    code = cli.main(["analyze", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert [line for line in err.splitlines() if line.startswith("error:")] == [
        f"error: the analysis of bias failed; the other studies are reported; tracebacks in {out / 'analysis-errors'}"]
    assert "planted failure" in (out / "analysis-errors" / "bias.txt").read_text()
    findings = json.loads((out / "findings.json").read_text())
    assert findings["bias"]["analysis_error"] == "ZeroDivisionError: planted failure"
    assert all("analysis_error" not in findings[k] for k in KINDS if k != "bias")
    report = (out / "report.md").read_text()
    assert "**Analysis failed**: `ZeroDivisionError: planted failure`" in report
    assert all(f"## {k}" in report for k in KINDS)


def test_a_study_whose_every_trial_failed_exits_1_while_the_others_are_reported(tmp_path, capsys):
    """`analyze` tells the truth as `run` does: every compute trial failed, overfitting finished -> exit 1."""
    from dl_drawbacks.plan import plan
    from dl_drawbacks.rows import ROW_SCHEMA

    out = _run_folder(tmp_path, keep_one_of=("overfitting",))
    for folder in (out / "trials").iterdir():
        if json.loads((folder / "trial.json").read_text())["study"] != "overfitting":
            for f in folder.iterdir():
                f.unlink()
            folder.rmdir()
    compute = [t for t in plan(load_spec(QUICKSTART)) if t.study == "compute"]
    for t in compute:
        LocalRunFolder(out).write_trial(t.trial_id, pl.DataFrame(schema=ROW_SCHEMA),
                    {"status": "failed", "error": "OSError: disk gone", "study": "compute", "sweep": t.sweep,
                     "wall_seconds": 1.0})
    code = cli.main(["analyze", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert [line for line in err.splitlines() if line.startswith("error:")] == [
        f"error: every trial of compute failed ({len(compute)}); see the report in {out} for their errors"]
    assert "## overfitting" in (out / "report.md").read_text()
