"""The `dl-drawbacks` command: list, plan, run, analyze, k8s render.

A user's mistake, and any file-system error on the way (a full disk, a folder that cannot be
written), prints one line (`error: ...`) and exits 2, without a traceback. `run` and `analyze` exit 1 when
every trial of a study failed or a study's analysis raised. Ctrl-C exits 130 and SIGTERM 143 with one line at
any phase (`run` first records what finished and reports when the signal comes during the trials:
interrupt.py).
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Sequence

from .errors import DrawbacksError
from .interrupt import install_quit_handlers


def cmd_list(args: argparse.Namespace) -> int:
    from .registry import DATASETS, MODELS, STUDIES

    for name, kind in STUDIES.items():
        print(f"study    {name:<18} {kind.question}")
    for name, loader in DATASETS.items():
        print(f"dataset  {name:<18} {_first_line(loader)}")
    for name, fam in MODELS.items():
        print(f"model    {name:<18} {fam.description}; sizes: {', '.join(fam.sizes)}")
    return 0


def _first_line(obj) -> str:
    """The first line of ``obj``'s docstring, else of its module's (a loader's module says what the data is)."""
    for doc in (obj.__doc__, getattr(sys.modules.get(obj.__module__), "__doc__", None)):
        if doc and doc.strip():
            return doc.strip().splitlines()[0]
    return ""


def cmd_plan(args: argparse.Namespace) -> int:
    from .execute import preflight_data
    from .labels import swept_factors, swept_text
    from .model_memory import check_model_memory, local_memory
    from .plan import describe, plan
    from .spec import load_spec

    trials = plan(load_spec(args.spec, args.overrides))
    check_model_memory(trials, preflight_data(trials), local_memory(),
                       where="this machine (`run --address` checks the cluster's largest node instead)")
    swept = swept_factors(trials)
    for t in trials:
        values = swept_text(t, swept.get(t.study, []))
        print(describe(t) + (f"  swept: {values}" if values else ""))
    print(f"{len(trials)} trials")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .execute import run_study_file

    if Path(args.spec).is_dir():
        return _run_folder(args)
    out = run_study_file(
        args.spec,
        out=args.out,
        resume=args.resume,
        address=args.address,
        dashboard=args.dashboard,
        overrides=args.overrides,
    )
    return _analysis_exit(out)


def _run_folder(args: argparse.Namespace) -> int:
    """A folder of specs (studies/reproductions/): each in order, then the index; 1 when any did not finish."""
    from .errors import SpecError
    from .reproduce.suite import run_spec_folder

    if args.overrides:
        raise SpecError(f"{args.spec} is a folder of specs: overrides ({args.overrides[0]} …) name one spec's keys; "
                        f"run that spec file with them instead")
    _, runs = run_spec_folder(args.spec, out=args.out, resume=args.resume, address=args.address,
                              dashboard=args.dashboard)
    codes = [1 if r.error else _analysis_exit(r.run_dir) for r in runs]
    return max(codes, default=0)


def _failed_studies(run_dir: Path) -> dict[str, int]:
    """Study kind -> trial count, for each study every one of whose trials failed."""
    import polars as pl

    from .aggregate import trial_outcomes

    by_study = trial_outcomes(run_dir).group_by("study").agg(
        pl.len().alias("trials"), (pl.col("status") == "failed").all().alias("all_failed"))
    return {row["study"]: row["trials"] for row in by_study.filter("all_failed").sort("study").iter_rows(named=True)}


def _analysis_exit(run_dir: str | Path) -> int:
    """1, with one line naming them, when every trial of a study failed or a study's analysis raised (its
    report section says why); degenerate but finished data is a finding, not an error."""
    failed_trials = _failed_studies(Path(run_dir))
    if failed_trials:
        shown = ", ".join(f"{kind} failed ({n})" for kind, n in failed_trials.items())
        print(f"error: every trial of {shown}; see the report in {run_dir} for their errors", file=sys.stderr)
        return 1

    from .analyze import failed_analyses
    from .storage.run_folder import ANALYSIS_ERRORS, LocalRunFolder

    failed = failed_analyses(LocalRunFolder(run_dir).findings() or {})
    if failed:
        print(
            f"error: the analysis of {', '.join(failed)} failed; the other studies are reported; "
            f"tracebacks in {Path(run_dir) / ANALYSIS_ERRORS}",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from .analyze import analyze_run

    analyze_run(args.run_dir)
    return _analysis_exit(args.run_dir)


def cmd_wandb_report(args: argparse.Namespace) -> int:
    from .analyze import wandb_report

    for kind, path, published in wandb_report(args.run_dir, publish=args.publish):
        print(f"{kind:<18} {'published' if published else 'written'}  {path}")
    return 0


class OneLineParser(argparse.ArgumentParser):
    """Usage mistakes in one line (argparse prints the whole usage block), exit 2."""

    def error(self, message: str):
        text = f"error: {self.prog}: {message} (see {self.prog} --help)".replace("\n", " ")
        self.exit(2, text[:500] + "\n")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dl-drawbacks")
    except PackageNotFoundError:  # a source tree on PYTHONPATH that was never installed
        return "unknown (not installed)"


def _overrides_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "overrides",
        nargs="*",
        metavar="PATH=VALUE",
        help="set a spec key, validated like the YAML (value read as YAML): studies[0].seeds=[0,1,2], "
        "studies.KIND.trainer.workers=2 (a study named by its kind)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="dl-drawbacks", description="Measure the drawbacks of deep learning.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="registered study kinds, datasets and models").set_defaults(func=cmd_list)
    p = sub.add_parser("plan", help="print one line per planned trial")
    p.add_argument("spec")
    _overrides_arg(p)
    p.set_defaults(func=cmd_plan)
    p = sub.add_parser("run", help="run a study spec on Ray (a folder: each spec in order, plus an index of verdicts)")
    p.add_argument("spec", help="a spec file, or a folder of spec files (studies/reproductions/)")
    _overrides_arg(p)
    p.add_argument("--out", help="run folder (default runs/<spec name>; for a folder of specs: runs/<folder name>)")
    p.add_argument("--resume", action="store_true", help="finish an interrupted run: skip finished trials")
    p.add_argument(
        "--address",
        help="Ray cluster address HOST:PORT, auto or local (default: $RAY_ADDRESS, " "else start a local cluster)",
    )
    p.add_argument(
        "--dashboard",
        action="store_true",
        help="keep the local cluster's Ray dashboard (trial logs) and print its address",
    )
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("analyze", help="rebuild aggregates, findings and the report from a run folder's rows")
    p.add_argument("run_dir")
    p.set_defaults(func=cmd_analyze)
    p = sub.add_parser(
        "wandb-report",
        help="build each study's W&B Report (spec written to RUN_DIR/wandb-reports/); --publish saves it online",
    )
    p.add_argument("run_dir")
    p.add_argument("--publish", action="store_true", help="save the reports to W&B (needs WANDB_API_KEY and network)")
    p.set_defaults(func=cmd_wandb_report)
    from .k8s.cli import register as register_k8s

    register_k8s(sub)
    from .jobs.cli import register as register_jobs

    register_jobs(sub)
    from .commands import card, compare, describe

    describe.register(sub)
    card.register(sub)
    compare.register(sub)
    return parser


def _os_error_line(err: OSError) -> str:
    where = " -> ".join(str(f) for f in (err.filename, err.filename2) if f is not None)
    reason = err.strerror or (str(err).strip().splitlines() or [type(err).__name__])[0]
    return f"{where + ': ' if where else ''}{reason}"


def main(argv: Sequence[str] | None = None) -> int:
    previous = install_quit_handlers()  # before the parser's imports: a signal there is one line, no traceback
    try:
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        # argparse stops filling a positional list at the first option: `run SPEC --resume a.b=1` leaves a.b=1 over
        if extra and hasattr(args, "overrides") and all("=" in e and not e.startswith("-") for e in extra):
            args.overrides = [*args.overrides, *extra]
        elif extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        return args.func(args)
    except DrawbacksError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except OSError as err:
        print(f"error: {_os_error_line(err)}".replace("\n", "\\n"), file=sys.stderr)
        return 2
    except UnicodeDecodeError as err:  # a file read without a path to name (each reader names its own where it can)
        print(f"error: a file is not UTF-8 text ({err.reason} at offset {err.start})", file=sys.stderr)
        return 2
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


if __name__ == "__main__":
    sys.exit(main())
