"""The drawback card: headline -> entry adapter, verdicts, flags, empty cells that say why, coverage, HTML."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from dl_drawbacks.cli import main
from dl_drawbacks.storage.run_folder import LocalRunFolder
from dl_drawbacks.report.card import Cell, Column, build_card, coverage, entry_from_headline, short_finding
from dl_drawbacks.report.card_render import card_html, card_markdown, terminal_lines

SPECS = Path(__file__).resolve().parents[1] / "specs"

TIME = {"finding": "training time ∝ parameters^b (mlp; family=mlp, dataset=digits, budget_steps=40, workers=1)",
        "value": -0.296, "interval": [430.0, 618941.0], "over": "4 trials (OLS on log-log)", "unit": "exponent",
        "provenance": "measured, log-log OLS"}


def test_an_interval_reads_unambiguously_and_says_what_it_is_over():
    entry = entry_from_headline(TIME)
    assert entry.number == "-0.296 (430 to 618\u202f941, over 4 trials (OLS on log-log))"
    assert entry.verdict == "Training time ∝ parameters^b: -0.296 (430 to 618\u202f941, over 4 trials (OLS on log-log))."


def test_long_findings_lose_their_parenthesised_conditions_short_ones_stay():
    assert short_finding(TIME["finding"]) == "training time ∝ parameters^b"
    assert short_finding("accuracy (test)") == "accuracy (test)"
    assert short_finding("Average odds difference (sex) — inconclusive: the interval straddles a threshold of 0.1 "
                         "[-0.2, 0.1]") == "Average odds difference"


def test_flags():
    assert entry_from_headline({**TIME, "interval": [-0.1, 0.4]}).flags == ("inconclusive (interval includes 0)",)
    assert entry_from_headline({**TIME, "unit": "ratio", "interval": [0.8, 1.3]}).flags == (
        "inconclusive (interval includes 1)",)
    assert entry_from_headline({**TIME, "interval": None, "provenance": "estimate"}).flags == (
        "estimate, not measured", "no interval")
    degenerate = entry_from_headline({**TIME, "value": None, "interval": None, "reason": "all seeds equal"})
    assert degenerate.flags == ("degenerate",) and degenerate.number == "no value: all seeds equal"


def _run(tmp_path: Path, name: str, findings: dict) -> Path:
    run = tmp_path / name
    run.mkdir()
    doc = yaml.safe_load((SPECS / "tiny_compute.yaml").read_text())
    (run / "spec.yaml").write_text(yaml.safe_dump({**doc, "name": name}))
    (run / "findings.json").write_text(json.dumps(findings))
    LocalRunFolder(run).write_headlines({})  # what `analyze` stores beside findings with no headline
    return run


def test_cells_a_run_cannot_fill_say_why_and_runs_become_columns(tmp_path, capsys):
    failed = _run(tmp_path, "failed", {"compute": {"question": "q", "analysis_error": "ZeroDivisionError: x"}})
    empty = _run(tmp_path, "empty", {"compute": {"question": "q", "not_measurable": "no trial recorded its scalars"}})
    columns = build_card([failed, empty])
    assert [c.title for c in columns] == ["digits (failed)", "digits (empty)"]
    assert columns[0].cells["compute"].empty == "analysis failed: ZeroDivisionError: x"
    assert columns[1].cells["compute"].empty == "no trial recorded its scalars"
    assert coverage(columns) == (0, 2)
    out = tmp_path / "card.html"
    assert main(["card", str(failed), str(empty), "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"{out}: 0 of 2 cells filled"
    page = out.read_text()
    assert "no trial recorded its scalars" in page and "Coverage: 0 of 2 cells filled" in page


def test_card_command_on_a_folder_without_findings_is_one_line(tmp_path, capsys):
    assert main(["card", str(tmp_path), "-o", str(tmp_path / "c.html")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no spec;" in err


def test_card_of_a_folder_analysed_before_headlines_were_stored_is_one_line(tmp_path, capsys):
    run = _run(tmp_path, "old", {"compute": {"question": "q", "not_measurable": "no trials"}})
    (run / "headlines.json").unlink()
    assert main(["card", str(run), "-o", str(tmp_path / "c.html")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "headlines.json: missing" in err and "dl-drawbacks analyze" in err


def _columns(png: Path) -> list[Column]:
    mlp = Column("a", png.parent, "mlp", "digits", {
        "compute": Cell(entry=entry_from_headline(TIME), figure=png, more=2),
        "bias": Cell(empty="not run: a has no bias study on mlp × digits")})
    cnn = Column("b", png.parent, "cnn", "digits", {"compute": Cell(entry=entry_from_headline({**TIME, "value": 0.5}))})
    return [mlp, cnn]


def test_html_groups_columns_by_family_and_embeds_the_figure(tmp_path):
    png = tmp_path / "f.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n")
    html = card_html(_columns(png))
    assert html.count("<table class='card'>") == 2 and "<h3>mlp</h3>" in html and "<h3>cnn</h3>" in html
    assert "src='data:image/png;base64," in html and "+2 more in its section" in html
    assert "Coverage: 2 of 3 cells filled" in html


def test_markdown_and_terminal_show_one_verdict_per_filled_cell(tmp_path):
    columns = _columns(tmp_path / "none.png")
    assert "_not run: a has no bias study on mlp × digits_" in card_markdown(columns)
    lines = terminal_lines(columns)
    assert len(lines) == 2 and lines[1].startswith("  compute          cnn/digits: Training time ∝ parameters^b: 0.5")


def test_a_study_section_opens_with_its_question_once_and_the_cards_answer(tmp_path):
    import polars as pl

    from dl_drawbacks.report.document import write_report

    column = Column("a", tmp_path, "mlp", "digits", {"compute": Cell(entry=entry_from_headline(TIME), more=1)})
    md, html = write_report(tmp_path, title="t", description="d", sections={"compute": "*How fast?*\n\nbody"},
                            headlines={"compute": [TIME]}, env={}, questions={"compute": "How fast?"},
                            card=[column], outcomes=pl.DataFrame({"trial_id": ["x"], "study": ["compute"],
                                                                  "sweep": ["s"], "status": ["completed"],
                                                                  "error": [None]}))
    text = md.read_text()
    section = text.split('<a id="compute"></a>')[1]
    assert section.count("How fast?") == 1 and "**Answer.** Training time ∝ parameters^b: -0.296" in section
    assert text.index("## Contents") < text.index("## Drawback card") < text.index("## compute") < text.index(
        "## Appendix: every headline finding")
    page = html.read_text()
    assert "href='#compute'>+1 more in its section" in page and 'href="#compute"' in page  # card, contents


def test_a_study_wide_headline_of_two_data_sets_is_shown_once_not_in_both_columns():
    from dl_drawbacks.report.card import _pick, _shown_elsewhere

    pairs = [("mlp", "digits"), ("mlp", "german")]
    tunability = {"finding": "tunability: best minus default accuracy", "value": 0.1}
    transfer = {"finding": "rank correlation of configurations, digits to german", "value": 0.4}
    assert _shown_elsewhere(tunability, "mlp", "digits", pairs) == ""
    assert _shown_elsewhere(tunability, "mlp", "german", pairs) == "digits"
    assert _shown_elsewhere(transfer, "mlp", "german", pairs) == ""  # it names its data sets: each column shows it
    assert _shown_elsewhere(tunability, "mlp", "digits", [("mlp", "digits")]) == ""
    on_german = {"finding": "best accuracy (german)", "value": 0.7}
    assert _pick([tunability, on_german], "mlp", "german", pairs) is on_german
    assert _pick([tunability, on_german], "mlp", "digits", pairs) is tunability
    shown, left = Cell(entry=entry_from_headline(TIME)), Cell(empty="shown once, under digits", shown_under="digits")
    columns = [Column("r", Path("r"), "mlp", "digits", {"hparams": shown}),
               Column("r", Path("r"), "mlp", "german", {"hparams": left})]
    assert coverage(columns) == (1, 1)  # the cell left to the other column is not a cell to fill
