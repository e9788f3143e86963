"""`compare`: B − A per shared headline (matched by key), paired over matched seeds where both runs trained them on
the same test samples, unpaired otherwise and said so; the paired interval's referee (known shift, both ways)."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml

from dl_drawbacks.commands.compare import compare_lines, difference
from dl_drawbacks.commands.paired import paired_difference
from dl_drawbacks.plan import plan_suite
from dl_drawbacks.spec.load import parse_spec, read_yaml
from dl_drawbacks.storage.run_folder import LocalRunFolder

ROOT = Path(__file__).resolve().parents[2]
ROWS = ROOT / "tests" / "fixtures" / "rows" / "interpretability.parquet"  # the quickstart's, seeds 0 and 1


def test_difference_of_two_independent_intervals():
    d, low, high = difference({"value": 1.0, "interval": [0.0, 2.0]}, {"value": 4.0, "interval": [3.0, 5.0]})
    assert d == 3.0 and math.isclose(high - d, math.sqrt(2)) and math.isclose(d - low, math.sqrt(2))
    assert difference({"value": 1.0, "interval": None}, {"value": 2.0, "interval": [1.0, 3.0]}) == (1.0, None, None)
    assert difference({"value": None}, {"value": 2.0}) == (None, None, None)


@pytest.mark.parametrize("shift", [0.3, -0.3])
def test_paired_interval_referee_known_shift_point_and_coverage(shift):
    """Per-seed values share a large seed effect (sd 1) and differ by ``shift`` plus small noise (sd 0.1): the
    paired interval over 5 matched seeds centres on the shift, covers it ~95% of the time, and is far narrower than
    the unpaired one (which carries the seed effect twice)."""
    rng = np.random.default_rng(11)
    seeds, reps = range(5), 600
    points, covered, widths, unpaired = [], 0, [], []
    for _ in range(reps):
        seed_effect = rng.normal(0, 1, 5)
        a = {s: 2 + seed_effect[s] + rng.normal(0, 0.1) for s in seeds}
        b = {s: 2 + shift + seed_effect[s] + rng.normal(0, 0.1) for s in seeds}
        iv = paired_difference(a, b)
        points.append(iv.estimate)
        covered += iv.low <= shift <= iv.high
        widths.append(iv.high - iv.low)
        unpaired.append(2 * 2.776 * math.sqrt(np.var(list(a.values()), ddof=1) / 5 + np.var(list(b.values()),
                                                                                            ddof=1) / 5))
        assert iv.n == {"matched_seeds": 5} and iv.over == "matched seeds"
    assert abs(np.mean(points) - shift) < 0.01
    assert 0.92 <= covered / reps <= 0.98, covered / reps
    assert np.mean(widths) < np.mean(unpaired) / 5
    assert paired_difference({0: 1.0, 1: 2.0}, {1: 2.5, 2: 3.0}).reason.startswith("one value")  # 1 matched seed


def _run(path: Path, seeds: list[int], *, version: int = 4) -> Path:
    """A run folder of the quickstart's interpretability study over ``seeds``, from its real rows."""
    from dl_drawbacks.studies.base import get_kind

    doc = read_yaml(ROOT / "studies" / "quickstart.yaml")
    doc["studies"] = [copy.deepcopy(s) for s in doc["studies"] if s["kind"] == "interpretability"]
    doc["studies"][0]["seeds"], doc["version"] = seeds, version
    suite = parse_spec(doc)
    (study,) = plan_suite(suite)
    folder = LocalRunFolder(path)
    folder.write_spec(yaml.safe_dump(doc, sort_keys=False))
    rows = pl.read_parquet(ROWS)
    for trial in study.trials:
        part = rows.filter(pl.col("trial_id") == trial.trial_id)
        assert part.height, "the fixture rows are of the quickstart's plan"
        folder.write_trial(trial.trial_id, part, {"status": "completed", "study": study.spec.kind})
    kept = rows.filter(pl.col("seed").is_in(seeds))
    kind = get_kind("interpretability")
    found = kind.analyze(kept, study.options, measure=suite.measure)
    folder.write_findings({"interpretability": found})
    folder.write_headlines({"interpretability": kind.headlines(found)})  # what the analysis pass stores
    return path


def test_compare_pairs_over_matched_seeds_and_says_which_are_unpaired(tmp_path):
    one, two, newer = _run(tmp_path / "a", [0]), _run(tmp_path / "b", [0, 1]), _run(tmp_path / "c", [0, 1], version=5)
    lines = compare_lines(two, newer)
    assert "between spec versions, only headlines whose unit and label are unchanged" in lines[1]
    paired = lines[2:]  # matched by key: every headline's definition is kept, none is left out
    assert paired and all("paired, t over 2 matched seeds, same test samples" in line or "unpaired" in line
                          for line in paired), paired
    resolved = [line for line in paired if "paired, t over" in line]
    assert len(resolved) >= len(paired) // 2 and all("B − A 0 (0 to 0;" in line for line in resolved), resolved
    unpaired = compare_lines(one, two)[2:]  # different seeds: one in common
    assert unpaired and all("1 seed(s) in common (0); pairing needs 2" in line for line in unpaired), unpaired
