"""`dl-drawbacks run FOLDER/` (reproduce/suite.py, index.py): every spec checked before the first trial, overrides
refused, and the index page built from the specs' reproductions.json (verdict, interval, wall time, link, errors)."""

from __future__ import annotations

import shutil
from pathlib import Path

from dl_drawbacks.cli import main
from dl_drawbacks.reproduce.index import INDEX_HTML, INDEX_MD, read_index, write_index
from dl_drawbacks.reproduce.section import REPRODUCTIONS, section_markdown
from dl_drawbacks.reproduce.suite import SpecRun, _entry, spec_files
from dl_drawbacks.reproduce.verdict import judge
from dl_drawbacks.spec import load_spec

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "studies" / "reproductions"


def test_every_committed_reproduction_spec_parses_with_its_block():
    specs = spec_files(SUITE)
    assert {p.stem for p in specs} >= {"greydanus2020-mnist1d", "zhang2017-random-labels", "propublica2016-compas"}
    for path in specs:
        suite = load_spec(path)
        assert suite.reproduces is not None, path
        assert "Measured time" in path.read_text() and "Tolerance" in path.read_text(), path


def test_a_bad_spec_stops_the_folder_before_any_trial(tmp_path, capsys):
    shutil.copy(SUITE / "zhang2017-random-labels.yaml", tmp_path / "c.yaml")
    (tmp_path / "b.yaml").write_text((SUITE / "zhang2017-random-labels.yaml").read_text().replace(
        "name: zhang2017-random-labels", "name: other").replace("published: 1.0, tolerance: 0.02", "published: 1.0"))
    out = tmp_path / "runs"
    assert main(["run", str(tmp_path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "b.yaml" in err[0] and "needs its tolerance" in err[0]
    assert not out.exists()
    assert main(["run", str(tmp_path), "studies[0].seeds=[0]"]) == 2
    assert "is a folder of specs" in capsys.readouterr().err
    (tmp_path / "b.yaml").unlink()
    (tmp_path / "d.yaml").write_text((tmp_path / "c.yaml").read_text())
    assert main(["run", str(tmp_path), "--out", str(out)]) == 2
    assert "repeated" in capsys.readouterr().err


def test_the_index_lists_each_claim_its_wall_time_and_a_spec_that_did_not_run(tmp_path):
    from dl_drawbacks.storage.run_folder import json_bytes

    spec = load_spec(SUITE / "zhang2017-random-labels.yaml")
    iv = {"kind": "interval", "estimate": 0.1, "low": 0.08, "high": 0.12, "method": "nested", "level": 0.95,
          "over": "", "n": {"seeds": 4, "test_samples": 449}, "domain": "[0, 1]"}
    findings = {"overfitting": {"memorization": {"conditions": [{"train_accuracy_random": {**iv, "estimate": 0.995,
                                                                 "low": 0.99, "high": 1.0},
                                                                "test_accuracy_random": iv}]},
                                "fit_time": {"per_share": [{"seeds_fitted": 4}],
                                             "slope": {**iv, "estimate": 1.2, "low": 0.9, "high": 1.5}},
                                "pixel_shuffle": {"conditions": [{"seeds_fitted_true": 4, "train_accuracy_shuffled": {
                                    **iv, "estimate": 0.999, "low": 0.995, "high": 1.0}}]}}}
    verdicts = judge(spec.reproduces, findings)
    assert [v.verdict for v in verdicts] == ["reproduced"] * 4
    done = tmp_path / "zhang2017-random-labels"
    done.mkdir()
    (done / REPRODUCTIONS).write_bytes(json_bytes({"paper": spec.reproduces.paper.model_dump(),
                                                   "verdicts": [v.to_dict() for v in verdicts]}))
    (done / "report.html").write_text("<html></html>")
    entries = [_entry(SpecRun(SUITE / "zhang2017-random-labels.yaml", "zhang2017-random-labels", done, 421.3)),
               _entry(SpecRun(SUITE / "propublica2016-compas.yaml", "propublica2016-compas",
                              tmp_path / "propublica2016-compas", 1.2, "compas: file not found"))]
    write_index(tmp_path, entries, commit="abc123", source="studies/reproductions/")
    md = (tmp_path / INDEX_MD).read_text()
    assert "`dl-drawbacks run studies/reproductions/` at commit `abc123`" in md and md.count("| reproduced |") == 4 and "7 min 01 s" in md
    assert "0.1 [0.08 to 0.12] (nested over 4 seeds × 449 test samples)" in md
    assert "| not run | compas: file not found |" in md
    html = (tmp_path / INDEX_HTML).read_text()
    assert 'href="zhang2017-random-labels/report.html"' in html
    assert read_index(tmp_path)["specs"][1]["error"] == "compas: file not found"
    section = section_markdown(spec.reproduces, verdicts)
    assert section.startswith("**Zhang, Bengio, Hardt, Recht, Vinyals 2017, Fig. 1a-c**")
    assert "| paper | published | ours (interval, over) | tolerance | verdict | why |" in section
    assert "train accuracy on random labels: 1" in section and "± 0.02" in section
