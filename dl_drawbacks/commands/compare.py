"""`dl-drawbacks compare RUN_A RUN_B [-o compare.html]`: the two drawback cards side by side, and for every
headline both runs share, B − A with an interval.

The interval of a difference is unpaired: from the two runs' own 95% intervals, assuming independent, normal
estimates (half-width sqrt(h_A² + h_B²); e.g. Altman & Bland, BMJ 2003, "Interval estimation for the difference
between independent quantities"), and says so. A headline is compared only where its study's spec is the same in
both runs but for seeds and sweep values; otherwise it is listed with the setting that differs.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from ..report.markdown import fmt


def _study_docs(suite) -> dict[str, dict[str, Any]]:
    """Each study's settings (its prose description left out)."""
    return {s.kind: s.model_dump(mode="json", exclude={"description"}) for s in suite.studies}


def _definition_change(a: dict[str, Any], b: dict[str, Any]) -> str | None:
    """Where two studies' specs differ other than in seeds and sweep values (in either direction)."""
    from ..spec.extension import extension_difference

    forward, backward = extension_difference(a, b), extension_difference(b, a)
    if forward is None or backward is None:  # one extends the other: same settings, more seeds or values
        return None
    return forward


def difference(a: dict[str, Any], b: dict[str, Any]) -> tuple[float | None, float | None, float | None]:
    """(B − A, low, high); the bounds need both intervals."""
    va, vb = a.get("value"), b.get("value")
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (va, vb)):
        return None, None, None
    d = vb - va
    ia, ib = a.get("interval") or [None, None], b.get("interval") or [None, None]
    if None in (*ia[:2], *ib[:2]):
        return d, None, None
    half = math.hypot((ia[1] - ia[0]) / 2, (ib[1] - ib[0]) / 2)
    return d, d - half, d + half


def compare_lines(run_a: Path, run_b: Path) -> list[str]:
    from ..report.card import read_run

    (suite_a, found_a, heads_a), (suite_b, found_b, heads_b) = read_run(run_a), read_run(run_b)
    docs_a, docs_b = _study_docs(suite_a), _study_docs(suite_b)
    lines = [f"A: {run_a} ({suite_a.name} v{suite_a.version})   B: {run_b} ({suite_b.name} v{suite_b.version})",
             "intervals of B − A are unpaired: from the two 95% intervals, as independent normal estimates"]
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
        by_finding = {h["finding"]: h for h in heads_b.get(kind, [])}  # as each run's analysis stored them
        for h in heads_a.get(kind, []):
            other = by_finding.get(h["finding"])
            if other is None:
                continue
            d, low, high = difference(h, other)
            interval = f" ({fmt(low)} to {fmt(high)})" if low is not None else " (no interval)"
            lines.append(f"{kind:<16} {h['finding'][:70]}: A {fmt(h.get('value'))}, B {fmt(other.get('value'))}, "
                         f"B − A {fmt(d)}{interval if d is not None else ''}")
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
