"""The data study's curve fitting on LCDB's learning curves (Mohr, Viering, Loog & van Rijn 2022), no training.

LCDB 1.0 ships, per OpenML data set and classical learner, test accuracy at geometric training sizes over outer x
inner seeds (the ``lcdb`` package's ``database-accuracy.csv``, read here with polars without importing the package,
which needs undeclared dependencies). Following LCDB's extrapolation protocol (fit on the anchors up to a share of
the largest training size, predict the rest), for each curve and each cut (10 / 30 / 50% of the largest n):
- the data study's ``LearningCurveFit`` on the anchors up to the cut (every family assessed, the best passing one
  chosen on its own hold-out, model-averaged bootstrap band);
- the absolute error of its prediction at the largest anchor, and of POW4's and MMF4's (LCDB's reference families);
- whether its 95% band covers the observed mean error at each held-out anchor.
Summaries over curves use ``statistics.bootstrap_interval`` (BCa over curves; "not measurable" below 10 curves).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import polars as pl

from ...errors import DataError
from ...statistics import REAL, UNIT, bootstrap_interval
from .anchors import Curve
from .curves import FAMILIES
from .learning_curves import LearningCurveFit

CUTS = (0.1, 0.3, 0.5)
REFERENCES = ("pow4", "mmf4")
ACCURACY_CSV = "database-accuracy.csv"


def lcdb_accuracy_csv() -> Path:
    """The installed ``lcdb`` package's accuracy table (``pip install 'dl-drawbacks[lcdb]'``)."""
    spec = importlib.util.find_spec("lcdb")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the lcdb package is not installed: pip install 'dl-drawbacks[lcdb]' (459 MB of curves)")
    found = sorted(Path(spec.submodule_search_locations[0]).rglob(ACCURACY_CSV))
    if not found:
        raise DataError(f"the lcdb package holds no {ACCURACY_CSV}; reinstall it")
    return found[0]


def read_curves(path: str | Path, *, learners: Iterable[str] | None = None, openmlids: Iterable[int] | None = None,
                max_curves: int | None = None) -> dict[tuple[int, str], Curve]:
    """(openmlid, learner) -> Curve of test error (1 − score_test) at each training size, one value per
    (outer, inner) seed pair."""
    lf = pl.scan_csv(path).select("openmlid", "learner", "size_train", "outer_seed", "inner_seed", "score_test")
    if learners is not None:
        lf = lf.filter(pl.col("learner").is_in(list(learners)))
    if openmlids is not None:
        lf = lf.filter(pl.col("openmlid").is_in(list(openmlids)))
    frame = lf.drop_nulls("score_test").collect().sort("openmlid", "learner", "size_train")
    out: dict[tuple[int, str], Curve] = {}
    for (oid, learner), g in frame.group_by("openmlid", "learner", maintain_order=True):
        seed = (g["outer_seed"] * 1000 + g["inner_seed"]).to_numpy()
        out[(int(oid), str(learner))] = Curve.from_errors(g["size_train"].to_numpy(), seed,
                                                          1 - g["score_test"].to_numpy())
        if max_curves is not None and len(out) >= max_curves:
            break
    return out


def _head(curve: Curve, k: int) -> Curve:
    return Curve(curve.anchors[:k], curve.seeds[:k], curve.errors[:k])


def extrapolate(curve: Curve, cut: float, *, n_bootstrap: int = 100, min_anchors: int = 4,
                random_state: int = 0) -> dict[str, Any]:
    """One curve at one cut: the chosen family's, POW4's and MMF4's absolute error at the largest anchor, and the
    share of held-out anchors inside the 95% band; ``available`` False (with why) when it cannot be judged."""
    k = int(np.searchsorted(curve.anchors, cut * curve.anchors[-1], side="right"))
    if k < min_anchors or k >= len(curve.anchors):
        return {"available": False, "reason": f"{k} anchor(s) up to {cut:.0%} of the largest n"}
    fit = LearningCurveFit(families=tuple(FAMILIES), n_bootstrap=n_bootstrap, min_anchors=3,
                           random_state=random_state).fit(_head(curve, k))
    if fit.family_ is None:
        return {"available": False, "reason": "no family passes its own checks on these anchors"}
    n_last, observed = curve.anchors[-1], curve.means
    errors = {"best": abs(float(fit.predict(np.array([n_last]))[0]) - observed[-1])}
    for name in REFERENCES:
        params = fit.assessment_[name]["params"]
        errors[name] = (abs(float(fit.predict(np.array([n_last]), name, np.asarray(params))[0]) - observed[-1])
                        if params is not None else None)
    low, high = fit.band(curve.anchors[k:])
    covered = (low <= observed[k:]) & (observed[k:] <= high)
    return {"available": True, "family": fit.family_, "anchors_used": k, "abs_error": errors,
            "covered": int(covered.sum()), "held_out": int(covered.size)}


def summarize(results: list[dict[str, Any]], *, seed: int = 0) -> dict[str, Any]:
    """Over curves at one cut: mean absolute error of the chosen family, its paired difference with POW4 and
    MMF4 (negative: the data study's choice extrapolates better), and the coverage of its 95% bands."""
    ok = [r for r in results if r["available"]]
    out: dict[str, Any] = {"curves": len(results), "judged": len(ok),
                           "not_judged": {r["reason"]: sum(x.get("reason") == r["reason"] for x in results)
                                          for r in results if not r["available"]}}
    best = np.array([r["abs_error"]["best"] for r in ok])
    out["abs_error_best"] = bootstrap_interval(best, domain=REAL, over="curves", seed=seed).to_dict()
    for name in REFERENCES:
        pairs = np.array([r["abs_error"]["best"] - r["abs_error"][name] for r in ok
                          if r["abs_error"][name] is not None])
        out[f"best_minus_{name}"] = bootstrap_interval(pairs, domain=REAL, over="curves", seed=seed).to_dict()
    per_curve = np.array([r["covered"] / r["held_out"] for r in ok])
    out["coverage"] = bootstrap_interval(per_curve, domain=UNIT, over="curves", seed=seed).to_dict()
    out["families_chosen"] = {f: sum(r["family"] == f for r in ok) for f in sorted({r["family"] for r in ok})}
    return out


def lcdb_extrapolation(curves: dict[tuple[int, str], Curve], *, cuts: tuple[float, ...] = CUTS,
                       n_bootstrap: int = 100) -> dict[str, Any]:
    """Per cut, the summary over every curve (and the per-curve results)."""
    out = {}
    for cut in cuts:
        per = {f"{oid}/{learner}": extrapolate(c, cut, n_bootstrap=n_bootstrap) for (oid, learner), c in curves.items()}
        out[f"{cut:.0%}"] = {**summarize(list(per.values())), "per_curve": per}
    return out


def main(argv: list[str] | None = None) -> None:
    """python -m dl_drawbacks.studies.data.lcdb [LEARNER ...]: the table over LCDB's curves of those learners."""
    import argparse
    import json

    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument("learners", nargs="*", default=["SVC_linear", "sklearn.linear_model.LogisticRegression"])
    p.add_argument("--max-curves", type=int, default=40)
    p.add_argument("--csv", help="an LCDB accuracy CSV (default: the installed lcdb package's)")
    args = p.parse_args(argv)
    found = lcdb_extrapolation(read_curves(args.csv or lcdb_accuracy_csv(), learners=args.learners or None,
                                           max_curves=args.max_curves))
    for cut, s in found.items():
        iv = {k: s[k] for k in ("abs_error_best", "best_minus_pow4", "best_minus_mmf4", "coverage")}
        print(cut, s["judged"], "of", s["curves"], json.dumps({k: [v["estimate"], v["low"], v["high"]]
                                                               for k, v in iv.items()}))


if __name__ == "__main__":
    main()
