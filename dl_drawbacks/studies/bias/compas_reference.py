"""COMPAS's own decisions on the defendants a trained model is tested on, so that the model and COMPAS are
compared on the same people, sample by sample, in one orientation.

ProPublica's rule (Angwin et al. 2016, compas-analysis notebook): decile ≥ 5 ("medium" or "high") = high
risk. In the data set's orientation (label 1 = no reoffence, prediction 1 = low risk, ``data.compas``) that is
ŷ = [decile < 5]; the score (10.5 − decile)/10 only orders defendants (a decile is not a probability).
"""

from __future__ import annotations

from typing import Any

import numpy as np

PROPUBLICA_CUT = 5  # decile from which ProPublica counts a defendant as high risk


def decile_decisions(decile: np.ndarray, cut: int = PROPUBLICA_CUT) -> tuple[np.ndarray, np.ndarray]:
    """(ŷ: 1 = low risk, an ordering score in (0, 1)) from COMPAS decile scores."""
    decile = np.asarray(decile)
    return (decile < cut).astype(np.int64), (10.5 - decile) / 10


def test_deciles(options: dict) -> np.ndarray:
    """The COMPAS decile of every test defendant of ``load_dataset('compas', options)``, in its order."""
    from ...data.base import parse_options
    from ...data.compas import compas_split, read_compas

    frame = read_compas(options.get("path"))
    _, test = compas_split(frame, parse_options("compas", options))
    return frame["decile_score"].to_numpy()[test]


ORIENTATION = (
    "ProPublica's orientation: false positive rate = labelled high risk among defendants who did not reoffend "
    "within two years, P(ŷ = 0 | y = 1) in the data's labels (label 1 = no reoffence); false negative rate = "
    "labelled low risk among those who did reoffend, P(ŷ = 1 | y = 0)"
)
PROPUBLICA_RATES = {  # ProPublica's name -> the rate of sample_stats in the data's orientation
    "false_positive_rate": "fnr",
    "false_negative_rate": "fpr",
}


def _high_risk(group: str, groups):
    from .sample_stats import group_rate

    low = group_rate("selection_rate", group, groups)
    return lambda a: 1 - low(a)


def _rate(name: str, group: str, groups):
    from .sample_stats import group_rate

    return _high_risk(group, groups) if name == "high_risk_rate" else group_rate(PROPUBLICA_RATES[name], group, groups)


def _compare(setting, stat, r: int, domain) -> dict[str, Any]:
    """COMPAS, the model and model − COMPAS (paired by seed and defendant) of one statistic."""
    from .settings import DIFFERENCE, entry
    from .sample_stats import paired_difference

    pairs = [np.column_stack([m, c]) for m, c in zip(setting.samples, setting.reference)]
    return {
        "compas": entry(setting.reference, stat, r, domain=domain),
        "model": entry(setting.samples, stat, r, domain=domain),
        "model_minus_compas": entry(pairs, paired_difference(stat), r, domain=DIFFERENCE),
    }


def compas_pairing(settings: dict, r: int) -> dict[str, Any]:
    """Per protected attribute: the unmitigated model and COMPAS (decile ≥ 5) on the same test defendants, each
    group's ProPublica error rates and high-risk rate, and the unprivileged − privileged FPR gap of each."""
    from .settings import DIFFERENCE, RATE, is_natural

    out = {}
    for key, s in settings.items():
        if key[2] != "none" or key[3] or not is_natural(key[1]) or not s.reference or s.status()["status"] != "ok":
            continue
        assert len(s.reference) == len(s.samples), "every trial of a setting records the reference or none does"
        groups = s.groups
        names = [g for g in groups if g not in ("all", "privileged", "unprivileged")]
        rates = {g: {name: _compare(s, _rate(name, g, groups), r, RATE)
                     for name in ("false_positive_rate", "false_negative_rate", "high_risk_rate")} for g in names}
        fpr = {g: _rate("false_positive_rate", g, groups) for g in ("unprivileged", "privileged")}
        gap = _compare(s, lambda a: fpr["unprivileged"](a) - fpr["privileged"](a), r, DIFFERENCE)
        out[key[0]] = {
            "orientation": ORIENTATION,
            "decision": f"COMPAS: decile ≥ {PROPUBLICA_CUT} = high risk; model: P(no reoffence) < 0.5 = high risk",
            "defendants": len(s.samples[0]),
            "seeds": s.seeds,
            "rates": rates,
            "false_positive_rate_gap": gap,
        }
    return out
