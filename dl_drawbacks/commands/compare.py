"""`dl-drawbacks compare RUN_A RUN_B [-o compare.html]`: the two drawback cards side by side, and for every
headline both runs share (matched by its stable key, never by its text), B − A with an interval.

The interval is paired where it can be (``paired.py``: the mean of per-seed differences over the seeds both runs
trained on the same test samples, Student-t over those seeds) and unpaired otherwise, said on the line: from the
two runs' own 95% intervals, assuming independent, normal estimates (half-width sqrt(h_A² + h_B²); Altman & Bland,
BMJ 2003, "Interval estimation for the difference between independent quantities"). A study is compared only where
its spec is the same in both runs but for seeds and sweep values; between runs of different spec versions, a
headline only where its definition (unit and label) is unchanged. Anything not compared is listed with why.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from ..report.markdown import fmt
from .paired import key_points, pairing_obstacle, paired_difference, per_seed_points

UNPAIRED = "unpaired: from the two 95% intervals, as independent normal estimates"


def _study_docs(suite) -> dict[str, dict[str, Any]]:
    """Each study's settings (its prose description left out)."""
    return {s.kind: s.model_dump(mode="json", exclude={"description"}) for s in suite.studies}


def _definition_change(a: dict[str, Any], b: dict[str, Any]) -> str | None:
    """Where two studies' specs differ other than in seeds (any) and sweep values (one run's values extend the
    other's), as a path in the study."""
    from ..spec.extension import extension_difference

    a, b = ({"studies": [{**doc, "seeds": []}]} for doc in (a, b))  # seeds never change what a headline means
    forward, backward = extension_difference(a, b), extension_difference(b, a)
    if forward is None or backward is None:  # one extends the other: same settings, more sweep values
        return None
    return forward.removeprefix("studies[0].")


def difference(a: dict[str, Any], b: dict[str, Any]) -> tuple[float | None, float | None, float | None]:
    """Unpaired (B − A, low, high); the bounds need both intervals."""
    va, vb = a.get("value"), b.get("value")
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (va, vb)):
        return None, None, None
    d = vb - va
    ia, ib = a.get("interval") or [None, None], b.get("interval") or [None, None]
    if None in (*ia[:2], *ib[:2]):
        return d, None, None
    half = math.hypot((ia[1] - ia[0]) / 2, (ib[1] - ib[0]) / 2)
    return d, d - half, d + half


def _headline_change(a: dict[str, Any], b: dict[str, Any]) -> str | None:
    """How a headline's definition differs between two spec versions (unit, label), or None."""
    for field in ("unit", "label"):
        if a.get(field) != b.get(field):
            return f"its {field} changed ({a.get(field) or '—'} → {b.get(field) or '—'})"
    return None


def _unpaired_text(a: dict[str, Any], b: dict[str, Any], why: str) -> str:
    d, low, high = difference(a, b)
    if d is None:
        return f"B − A — (unpaired: {why}; a run has no value)"
    interval = f"{fmt(low)} to {fmt(high)}" if low is not None else "no interval"
    return f"B − A {fmt(d)} ({interval}; {UNPAIRED}; {why})"


def _line(kind: str, a: dict[str, Any], b: dict[str, Any], difference_text: str) -> str:
    return (f"{kind:<16} {a['finding'][:70]}: A {fmt(a.get('value'))}, B {fmt(b.get('value'))}, "
            f"{difference_text}")


def _study_lines(kind: str, runs: tuple[Path, Path], heads: tuple[list, list], docs: tuple[dict, dict],
                 same_version: bool) -> list[str]:
    """One line per headline both runs give: paired over matched seeds where possible, else unpaired (why)."""
    obstacle = pairing_obstacle(*docs)
    points = None
    if obstacle is None:
        seeds = sorted(set(docs[0]["seeds"]) & set(docs[1]["seeds"]))
        points = [per_seed_points(run, kind, seeds) for run in runs]
    by_key = {h["key"]: h for h in heads[1]}
    lines = []
    for a in heads[0]:
        b = by_key.get(a["key"])
        if b is None:
            continue
        changed = None if same_version else _headline_change(a, b)
        if changed:
            lines.append(f"{kind:<16} {a['finding'][:70]}: not compared: between spec versions {changed}")
            continue
        if points is None:
            lines.append(_line(kind, a, b, _unpaired_text(a, b, obstacle)))
            continue
        paired = paired_difference(key_points(points[0], a["key"]), key_points(points[1], a["key"]))
        if not paired.defined:
            lines.append(_line(kind, a, b, _unpaired_text(a, b, f"not paired: {paired.reason}")))
            continue
        caveat = f"; {paired.reason}" if paired.reason else ""
        lines.append(_line(kind, a, b, f"B − A {fmt(paired.estimate)} ({fmt(paired.low)} to {fmt(paired.high)}; "
                                       f"paired, t over {paired.n['matched_seeds']} matched seeds, same test "
                                       f"samples{caveat})"))
    return lines


def compare_lines(run_a: Path, run_b: Path) -> list[str]:
    from ..report.card import read_run

    (suite_a, found_a, heads_a), (suite_b, found_b, heads_b) = read_run(run_a), read_run(run_b)
    docs_a, docs_b = _study_docs(suite_a), _study_docs(suite_b)
    same_version = suite_a.version == suite_b.version
    lines = [f"A: {run_a} ({suite_a.name} v{suite_a.version})   B: {run_b} ({suite_b.name} v{suite_b.version})",
             "B − A per headline (matched by its key): paired over the seeds both runs trained on the same test "
             "samples where there are 2 or more; otherwise unpaired, and the line says why"
             + ("" if same_version else "; between spec versions, only headlines whose unit and label are "
                                          "unchanged")]
    for kind in [k for k in docs_a if k in docs_b]:
        usable = [k for k in (found_a.get(kind, {}), found_b.get(kind, {}))
                  if k and "analysis_error" not in k and "not_measurable" not in k]
        if len(usable) < 2:
            lines.append(f"{kind}: not compared (a run has no findings for it)")
            continue
        changed = _definition_change(docs_a[kind], docs_b[kind])
        if changed:
            lines.append(f"{kind}: not compared: the study's spec differs at {changed}")
            continue
        heads = (heads_a.get(kind, []), heads_b.get(kind, []))  # as each run's analysis stored them
        lines += _study_lines(kind, (Path(run_a), Path(run_b)), heads, (docs_a[kind], docs_b[kind]), same_version)
    return lines


def _compare(args: argparse.Namespace) -> int:
    from ..report.card import build_card
    from ..report.card_render import card_page
    from ..storage.files import atomic_write_bytes

    for line in compare_lines(Path(args.run_a), Path(args.run_b)):
        print(line)
    if args.output:
        page = card_page(build_card([args.run_a, args.run_b]), title=f"{args.run_a} vs {args.run_b}")
        atomic_write_bytes(Path(args.output), page.encode())
        print(f"cards side by side: {args.output}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("compare", help="two runs' drawback cards side by side and B − A per shared headline")
    p.add_argument("run_a", metavar="RUN_A")
    p.add_argument("run_b", metavar="RUN_B")
    p.add_argument("-o", "--output", default=None, help="also write both cards side by side to this HTML file")
    p.set_defaults(func=_compare)
