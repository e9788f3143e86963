"""`dl-drawbacks analyze DIR`: aggregates, findings, figures and the report, from the rows alone.

It runs at the end of every `run` and on its own (after a change of analysis options, or on
another machine): it reads the run folder's spec, environment and finished trials' rows, nothing else.
Each study's analysis, figures and report section are isolated (HELM's summarize): one that raises
leaves its traceback in the folder's analysis errors (one file per kind) and a one-line error in its section,
and every other study is still analysed and reported.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Any

import polars as pl

from .aggregate import Admit, RunRows
from .errors import RunFolderError
from .headline import Headline, as_dicts
from .report.card import build_card
from .report.document import write_report
from .report.terminal import print_summary
from .plan import PlannedStudy, plan_suite
from .spec.load import parse_spec, read_yaml
from .storage.run_folder import ANALYSIS_ERRORS, FIGURES, SPEC, WANDB_REPORTS, LocalRunFolder


def _read_run(run_dir: Path):
    folder = LocalRunFolder(run_dir)
    if folder.spec_text() is None:
        raise RunFolderError(f"{run_dir}: no spec; is this a dl-drawbacks run folder?")
    spec_file = folder.path(SPEC)
    suite = parse_spec(read_yaml(spec_file), source=str(spec_file))
    return suite, folder.env()


def plan_admits(studies: list[PlannedStudy]) -> Admit:
    """Whether a trial folder's marker is of this plan: a planned id, or a trial of a study that chooses
    trials from results while it runs (``StudyKind.plans_at_run_time``)."""
    planned = {t.trial_id for s in studies for t in s.trials}
    open_studies = {s.spec.kind for s in studies if s.kind.plans_at_run_time}
    return lambda marker: marker.trial_id in planned or marker.get("study") in open_studies


def analyze_study(
    study: PlannedStudy, rows: pl.DataFrame, run_dir: Path, measure: Any
) -> tuple[dict, list[Path], str, list[Headline]]:
    """(findings, figures, report section, headlines) of one study; raises whatever its code raises. The only
    call of the kind's ``headlines`` hook: everything after reads them from the run folder or from here."""
    kind = study.kind
    found = kind.analyze(rows, study.options, measure=measure)
    figs = kind.figures(rows, found, LocalRunFolder(run_dir).folder(FIGURES))
    found["figures"] = [f"{FIGURES}/{p.name}" for p in figs]
    return found, figs, kind.report(found, figs), kind.headlines(found)


def _failed_study(study: PlannedStudy, run_dir: Path, exc: BaseException) -> tuple[dict, str]:
    """The findings and section of a study whose analysis raised; the traceback goes to a file."""
    rel = f"{ANALYSIS_ERRORS}/{study.spec.kind}.txt"
    LocalRunFolder(run_dir).write_bytes(rel, traceback.format_exc().encode())
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    message = f"{type(exc).__name__}: {first}"
    return (
        {"question": study.kind.question, "analysis_error": message, "traceback": rel},
        f"**Analysis failed**: `{message}` (traceback in `{rel}`). The trials' rows are intact; "
        f"fix and re-run `dl-drawbacks analyze {run_dir}`.",
    )


def analyze_run(run_dir: str | Path, *, progress: Any = None, ahead: dict[str, Any] | None = None) -> dict[str, Any]:
    """Findings of every study (a failed analysis is a finding with ``analysis_error``), report and W&B. ``ahead``:
    studies already analysed while the run went on (``analysis_ahead.StudyAnalysis`` by kind), each used only if
    its rows are unchanged since."""
    run_dir = Path(run_dir).resolve()
    folder = LocalRunFolder(run_dir)
    suite, env = _read_run(run_dir)
    studies = plan_suite(suite, source=folder.url(SPEC))
    admit = plan_admits(studies)
    run_rows = RunRows.read(run_dir, admit, say=lambda line: print(line, file=sys.stderr))  # once, for every study
    outcomes = run_rows.outcomes()
    findings: dict[str, Any] = {}
    sections: dict[str, str] = {}
    headlines: dict[str, list[Headline]] = {}
    figures_all: dict[str, list[Path]] = {}
    folder.clear(ANALYSIS_ERRORS, "*.txt")
    for study in studies:
        name = study.spec.kind
        rows = None
        try:  # one study's failure (its analysis raised, its kind declares a column the rows lack) stays in its section
            early = (ahead or {}).get(name)
            if early is not None and early.fingerprint == run_rows.fingerprint(name):
                findings[name], figures_all[name], sections[name], headlines[name] = early.result
                continue
            rows = run_rows.rows(name, columns=study.kind.row_columns)  # only the columns its analysis reads decoded
            if rows.height == 0:
                findings[name] = {"question": study.kind.question, "not_measurable": "no finished trials"}
                sections[name] = "Not measurable: no finished trials (see the trials table)."
            else:
                findings[name], figures_all[name], sections[name], headlines[name] = analyze_study(
                    study, rows, run_dir, suite.measure
                )
        except Exception as exc:  # never the run's end: every other study is still analysed
            findings[name], sections[name] = _failed_study(study, run_dir, exc)
        del rows  # freed before the next study's rows are collected: one study's frame in memory at a time
    folder.write_findings(findings)
    folder.write_headlines(headlines)
    if suite.reproduces is not None:  # the verdicts open the report: they are what a reproduction run is for
        from .reproduce.section import SECTION, record

        sections = {SECTION: record(folder, suite.reproduces, findings), **sections}
    card = build_card([run_dir])  # from the files just written, as `dl-drawbacks card` builds it
    md, html = write_report(
        run_dir,
        title=f"dl_drawbacks — {suite.name}",
        description=suite.description,
        sections=sections,
        headlines={kind: as_dicts(items) for kind, items in headlines.items()},
        outcomes=outcomes,
        env=env,
        questions={name: found["question"] for name, found in findings.items() if "question" in found},
        card=card,
    )
    _publish(suite, run_dir, findings, figures_all, headlines)
    print_summary(card, outcomes, html, wandb=_wandb_line(run_dir, suite), stream=sys.stderr)
    return findings


def failed_analyses(findings: dict[str, Any]) -> list[str]:
    """Study kinds whose analysis raised."""
    return [kind for kind, found in findings.items() if "analysis_error" in found]


def run_group(run_dir: Path, suite) -> str:
    """The W&B group of a run folder's trials (made with the folder, kept in its environment record)."""
    from .tracking.run_setup import run_group as recorded_group

    return recorded_group(run_dir, suite)


def wandb_report(run_dir: str | Path, *, publish: bool) -> list:
    """`dl-drawbacks wandb-report`: (re)build every study's W&B Report; publish when asked and online
    (an already published Report is updated in place)."""
    from .tracking.settings import decide_mode
    from .tracking.study_reports import write_study_reports

    run_dir = Path(run_dir).resolve()
    suite, _ = _read_run(run_dir)
    folder = LocalRunFolder(run_dir)
    findings = folder.findings()
    if findings is None:
        raise RunFolderError(f"{run_dir}: not analysed yet; run `dl-drawbacks analyze {run_dir}` first")
    headlines = folder.headlines()
    online = False
    if publish:
        mode, why = decide_mode(suite.tracking.model_copy(update={"mode": "auto"}))
        online = mode == "online"
        if not online:
            print(
                f"wandb-report: not published ({why}); report specs written to {run_dir / WANDB_REPORTS}",
                file=sys.stderr,
            )
    return write_study_reports(run_dir, suite, findings, headlines, group=run_group(run_dir, suite), publish=online)


def _publish(suite, run_dir: Path, findings: dict, figures: dict[str, list[Path]],
             headlines: dict[str, list[Headline]]) -> None:
    """Trial runs the trials could not log themselves (stopped, died, failed), one summary run per study
    and each study's W&B Report spec (saved online when this run is online); never fails the study."""
    from .tracking.run_setup import run_mode
    from .tracking.study_reports import write_study_reports
    from .tracking.study_summary import log_study_summary
    from .tracking.trial_log import log_unlogged_trials

    if run_mode(run_dir, suite.tracking) == "disabled":
        return
    group = run_group(run_dir, suite)
    planned = {
        t.trial_id: t.model_dump(mode="json")
        for s in plan_suite(suite, source=str(run_dir / SPEC))
        for t in s.trials
    }
    log_unlogged_trials(run_dir, settings=suite.tracking, group=group, planned=planned)
    studies = {s.kind: s.model_dump(mode="json") for s in suite.studies}
    for kind, found in findings.items():
        log_study_summary(
            suite.tracking,
            run_dir,
            group=group,
            kind=kind,
            findings=found,
            headlines=headlines.get(kind, []),
            figures=figures.get(kind, []),
            config={"suite": suite.name, "spec": studies.get(kind, {})},
        )
    write_study_reports(run_dir, suite, findings, headlines, group=group,
                        publish=run_mode(run_dir, suite.tracking) == "online")


def _wandb_line(run_dir: Path, suite) -> str | None:
    """'group G (mode)' for the terminal's last lines; None when tracking is disabled."""
    from .tracking.run_setup import run_mode

    mode = run_mode(run_dir, suite.tracking)
    return None if mode == "disabled" else f"group {run_group(run_dir, suite)} ({mode})"
