"""Paired differences of two runs' headlines over the seeds both ran (``dl-drawbacks compare``).

Method: the paired t interval (Student 1908; e.g. Altman 1991, *Practical Statistics for Medical Research* §9.5).
Where both runs trained the same seeds of a study on the same test samples (its data settings equal), each
headline is recomputed per seed from that seed's rows alone, by the study's own analysis; B − A is the mean of the
per-seed differences, with a Student-t interval over the matched seeds. What the two runs share (a seed's
initialisation and subsample, the test set) cancels in each difference, so the interval is narrower than one
built from the two runs' own intervals, and honest about the pairing it uses. Fewer than two matched seeds, a
headline a single seed cannot give, or different test samples: ``compare`` falls back to unpaired, and says why.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

from ..headline import as_dicts
from ..statistics import REAL, Interval, t_interval

MIN_MATCHED_SEEDS = 2  # a t interval over per-seed differences needs two


def paired_difference(a: Mapping[int, float], b: Mapping[int, float]) -> Interval:
    """B − A: the mean of ``b[s] − a[s]`` over the seeds both give a finite value, t interval over them."""
    seeds = sorted(s for s in set(a) & set(b) if math.isfinite(a[s]) and math.isfinite(b[s]))
    return t_interval([b[s] - a[s] for s in seeds], domain=REAL, over="matched seeds")


def pairing_obstacle(study_a: Mapping[str, Any], study_b: Mapping[str, Any]) -> str | None:
    """Why one study's runs cannot be paired by seed (its spec settings as dicts), or None."""
    if study_a.get("data") != study_b.get("data"):
        return "the data settings differ, so the test samples do not match"
    matched = sorted(set(study_a.get("seeds") or []) & set(study_b.get("seeds") or []))
    if len(matched) < MIN_MATCHED_SEEDS:
        return f"{len(matched)} seed(s) in common ({', '.join(map(str, matched)) or 'none'}); pairing needs 2"
    return None


def per_seed_points(run_dir: str | Path, kind: str, seeds: list[int]) -> dict[int, dict[str, float]]:
    """Seed -> headline key -> that seed's point estimate, from the run's rows of study ``kind`` (its own analysis
    on one seed's rows). A seed whose analysis cannot run alone gives no points (its headlines go unpaired)."""
    from ..aggregate import RunRows
    from ..analyze import plan_admits
    from ..plan import plan_suite
    from ..report.card import read_run
    from ..storage.run_folder import SPEC, LocalRunFolder

    run_dir = Path(run_dir)
    suite, _, _ = read_run(run_dir)
    studies = plan_suite(suite, source=LocalRunFolder(run_dir).url(SPEC))
    study = next(s for s in studies if s.spec.kind == kind)
    declared = study.kind.row_columns
    columns = None if declared is None else {*declared, "seed"}  # what `analyze` gives it, and the seed to split by
    rows = RunRows.read(run_dir, plan_admits(studies), say=lambda line: None).rows(kind, columns=columns)
    out: dict[int, dict[str, float]] = {}
    for seed in seeds:
        part = rows.filter(rows["seed"] == seed)
        if part.height == 0:
            continue
        try:
            found = study.kind.analyze(part, study.options, measure=suite.measure)
            heads = as_dicts(study.kind.headlines(found))
        except Exception:  # noqa: BLE001 — an analysis that needs several seeds: this seed stays unpaired
            continue
        out[seed] = {h["key"]: float(h["point"]) for h in heads
                     if isinstance(h.get("point"), (int, float)) and math.isfinite(h["point"])}
    return out


def key_points(points: Mapping[int, Mapping[str, float]], key: str) -> dict[int, float]:
    """Seed -> the point of headline ``key``, over the seeds that give it."""
    return {seed: p[key] for seed, p in points.items() if key in p}
