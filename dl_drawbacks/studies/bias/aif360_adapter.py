"""The one module that touches aif360 (0.6.1): datasets from numeric arrays, metrics, mitigation.

Rules kept here (see ../shared/FACTS.md):
- never aif360's bundled dataset loaders (AdultDataset, GermanDataset...): they ``sys.exit(1)``
  when their raw files are missing; our own loaders in dl_drawbacks.data hand us arrays;
- never pandas string columns: ``StandardDataset`` breaks on pandas 3 string dtypes
  (upstream Trusted-AI/AIF360#560), so BinaryLabelDataset is built from float64 columns only;
- not ``aif360.sklearn.postprocessing``: broken on scikit-learn >= 1.7 (Trusted-AI/AIF360#555);
  the classic ``aif360.algorithms.postprocessing`` classes are used instead;
- a group with no members or no positives gives NaN with only a RuntimeWarning in aif360: we
  decide undefinedness from the counts first and return an explicit ``Outcome`` with a reason.
"""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager
from typing import Mapping, Sequence

import numpy as np

from .metrics import FAIRNESS_METRICS, Outcome, evaluate_groups, undefined_reasons

POSTPROCESSORS = ("calibrated_eq_odds", "reject_option")


@contextmanager
def _quiet_optional_packages():
    """aif360 logs one WARNING per missing optional package (tensorflow, fairlearn...) on import."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)


with _quiet_optional_packages():
    import pandas as pd
    from aif360.algorithms.postprocessing import CalibratedEqOddsPostprocessing, RejectOptionClassification
    from aif360.algorithms.preprocessing import Reweighing
    from aif360.datasets import BinaryLabelDataset
    from aif360.metrics import ClassificationMetric


def group_conditions(attrs: Sequence[str]) -> tuple[list[dict[str, int]], list[dict[str, int]]]:
    """aif360's (privileged_groups, unprivileged_groups): all attributes 1 vs all attributes 0 (a dict is an AND)."""
    return [{a: 1 for a in attrs}], [{a: 0 for a in attrs}]


def binary_label_dataset(y: np.ndarray, groups: Mapping[str, np.ndarray], attrs: Sequence[str], *,
                         scores: np.ndarray | None = None, labels: np.ndarray | None = None) -> BinaryLabelDataset:
    """A BinaryLabelDataset of float64 columns only (#560); ``labels`` replace ``y`` for prediction datasets."""
    frame = pd.DataFrame({**{a: np.asarray(groups[a], np.float64) for a in attrs},
                          "label": np.asarray(y if labels is None else labels, np.float64)})
    ds = BinaryLabelDataset(df=frame, label_names=["label"], protected_attribute_names=list(attrs),
                            favorable_label=1.0, unfavorable_label=0.0)
    if scores is not None:
        ds.scores = np.asarray(scores, np.float64).reshape(-1, 1)
    return ds


def classification_metrics(y: np.ndarray, yhat: np.ndarray, groups: Mapping[str, np.ndarray],
                           attrs: Sequence[str]) -> dict[str, Outcome]:
    """Disparate impact, statistical parity / equal opportunity / average odds difference, Theil index."""
    _, _, counts, _ = evaluate_groups(y, yhat, groups, attrs)
    reasons = undefined_reasons({k: float(v) for k, v in counts.items()})
    truth = binary_label_dataset(y, groups, attrs)
    pred = binary_label_dataset(y, groups, attrs, labels=yhat)
    priv, unpriv = group_conditions(attrs)
    metric = ClassificationMetric(truth, pred, unprivileged_groups=unpriv, privileged_groups=priv)
    call = {"disparate_impact": metric.disparate_impact,
            "statistical_parity_difference": metric.statistical_parity_difference,
            "equal_opportunity_difference": metric.equal_opportunity_difference,
            "average_odds_difference": metric.average_odds_difference,
            "theil_index": metric.theil_index}
    out = {}
    for name in FAIRNESS_METRICS:
        if reasons[name]:
            out[name] = Outcome(float("nan"), reasons[name])
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                out[name] = Outcome(float(call[name]()))
    return out


def label_disparate_impact(y: np.ndarray, groups: Mapping[str, np.ndarray], attrs: Sequence[str]) -> float:
    """Disparate impact of the true labels (BinaryLabelDatasetMetric): the data's own base-rate ratio."""
    from aif360.metrics import BinaryLabelDatasetMetric

    priv, unpriv = group_conditions(attrs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(BinaryLabelDatasetMetric(binary_label_dataset(y, groups, attrs), unprivileged_groups=unpriv,
                                              privileged_groups=priv).disparate_impact())


def reweighing_weights(y: np.ndarray, groups: Mapping[str, np.ndarray], attrs: Sequence[str]) -> np.ndarray:
    """Per-sample weights P(group)P(label)/P(group, label) (Kamiran & Calders 2012); rows outside both groups keep 1."""
    priv, unpriv = group_conditions(attrs)
    ds = Reweighing(unprivileged_groups=unpriv, privileged_groups=priv).fit_transform(binary_label_dataset(y, groups, attrs))
    return ds.instance_weights.astype(np.float32)


def fit_postprocessor(method: str, y_val: np.ndarray, score_val: np.ndarray, groups_val: Mapping[str, np.ndarray],
                      attrs: Sequence[str], *, seed: int):
    """Fit calibrated equalized odds (Pleiss et al. 2017) or reject-option classification (Kamiran et al. 2012)
    on validation labels and the model's validation scores P(y = 1)."""
    assert method in POSTPROCESSORS, method
    priv, unpriv = group_conditions(attrs)
    truth = binary_label_dataset(y_val, groups_val, attrs)
    pred = binary_label_dataset(y_val, groups_val, attrs, scores=score_val, labels=(score_val >= 0.5))
    if method == "calibrated_eq_odds":
        post = CalibratedEqOddsPostprocessing(unprivileged_groups=unpriv, privileged_groups=priv,
                                              cost_constraint="weighted", seed=seed)
    else:  # a coarser grid than the default 100 × 50 keeps a trial's fit under a second
        post = RejectOptionClassification(unprivileged_groups=unpriv, privileged_groups=priv,
                                          num_class_thresh=25, num_ROC_margin=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return post.fit(truth, pred)


def apply_postprocessor(post, score: np.ndarray, groups: Mapping[str, np.ndarray], attrs: Sequence[str]) -> np.ndarray:
    """New 0/1 predictions. Rows in neither compared group (mixed intersections) keep the model's
    prediction: aif360's CalibratedEqOdds would otherwise set their score to 0."""
    from .metrics import privileged_masks

    yhat = (score >= 0.5).astype(np.int64)
    pred = binary_label_dataset(yhat, groups, attrs, scores=score, labels=yhat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        new = post.predict(pred).labels.ravel().astype(np.int64)
    priv, unpriv = privileged_masks(groups, attrs)
    return np.where(priv | unpriv, new, yhat)
