"""The one module that touches aif360 (0.6.1): datasets from numeric arrays, metrics, mitigation.

Rules kept here (see ../shared/FACTS.md):
- never aif360's bundled dataset loaders (AdultDataset, GermanDataset...): they ``sys.exit(1)``
  when their raw files are missing; our own loaders in dl_drawbacks.data hand us arrays;
- never pandas string columns: ``StandardDataset`` breaks on pandas 3 string dtypes
  (upstream Trusted-AI/AIF360#560), so BinaryLabelDataset is built from float64 columns only;
- not ``aif360.sklearn.postprocessing``: broken on scikit-learn >= 1.7 (Trusted-AI/AIF360#555);
  the classic ``aif360.algorithms.postprocessing`` classes are used instead;
- a group with no members or no positives gives NaN with only a RuntimeWarning in aif360: we
  decide undefinedness from the counts first and return an explicit ``Outcome`` with a reason;
- ``CalibratedEqOddsPostprocessing.fit`` never checks its mix rates: when the other group's cost lies
  beyond the trivial (base-rate) predictor's, the rate leaves [0, 1] (5.9 seen) and ``predict`` replaces
  every score of that group by its base rate. ``ceo_mix_rates`` returns them for the caller to refuse;
- ``PrejudiceRemover`` runs Kamishima's scripts with ``subprocess.call(['python', ...])`` and ignores the
  exit code: the venv's interpreter is put first on PATH for the call and a missing model file raises;
- aif360 post-processors and ``predict`` seed numpy's *global* RNG (``np.random.seed``).

How aif360 defines what is called here: CalibratedEqOdds (Pleiss et al. 2017) mixes the group with
the lower cost with the trivial predictor (its base rate) at rate (c_other − c_self)/(c_trivial − c_self),
cost = generalized FNR ("fnr"), FPR ("fpr") or their base-rate weighted sum; EqOdds (Hardt et al. 2016)
solves a linear program for label-flip probabilities per group and predicted label; reject-option
classification (Kamiran et al. 2012) flips labels within a margin of the threshold, both fitted on
validation; PrejudiceRemover (Kamishima et al. 2012) is logistic regression with a mutual-information penalty η.
"""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager
from typing import Mapping, Sequence

import numpy as np

from .metrics import FAIRNESS_METRICS, Outcome, evaluate_groups, undefined_reasons

POSTPROCESSORS = ("calibrated_eq_odds", "eq_odds", "reject_option")


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
    from aif360.algorithms.inprocessing import PrejudiceRemover
    from aif360.algorithms.postprocessing import (
        CalibratedEqOddsPostprocessing,
        EqOddsPostprocessing,
        RejectOptionClassification,
    )
    from aif360.algorithms.preprocessing import Reweighing
    from aif360.datasets import BinaryLabelDataset
    from aif360.metrics import ClassificationMetric


def group_conditions(attrs: Sequence[str]) -> tuple[list[dict[str, int]], list[dict[str, int]]]:
    """aif360's (privileged_groups, unprivileged_groups): all attributes 1 vs all attributes 0 (a dict is an AND)."""
    return [{a: 1 for a in attrs}], [{a: 0 for a in attrs}]


def binary_label_dataset(
    y: np.ndarray,
    groups: Mapping[str, np.ndarray],
    attrs: Sequence[str],
    *,
    scores: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    x: np.ndarray | None = None,
) -> BinaryLabelDataset:
    """A BinaryLabelDataset of float64 columns only (#560); ``labels`` replace ``y`` for prediction datasets;
    ``x`` adds feature columns f0, f1, ... (for in-processing)."""
    features = {} if x is None else {f"f{i}": np.asarray(x[:, i], np.float64) for i in range(x.shape[1])}
    frame = pd.DataFrame(
        {
            **features,
            **{a: np.asarray(groups[a], np.float64) for a in attrs},
            "label": np.asarray(y if labels is None else labels, np.float64),
        }
    )
    ds = BinaryLabelDataset(
        df=frame,
        label_names=["label"],
        protected_attribute_names=list(attrs),
        favorable_label=1.0,
        unfavorable_label=0.0,
    )
    if scores is not None:
        ds.scores = np.asarray(scores, np.float64).reshape(-1, 1)
    return ds


def classification_metrics(
    y: np.ndarray, yhat: np.ndarray, groups: Mapping[str, np.ndarray], attrs: Sequence[str]
) -> dict[str, Outcome]:
    """Disparate impact, statistical parity / equal opportunity / average odds difference, Theil index."""
    _, _, counts, _ = evaluate_groups(y, yhat, groups, attrs)
    reasons = undefined_reasons({k: float(v) for k, v in counts.items()})
    truth = binary_label_dataset(y, groups, attrs)
    pred = binary_label_dataset(y, groups, attrs, labels=yhat)
    priv, unpriv = group_conditions(attrs)
    metric = ClassificationMetric(truth, pred, unprivileged_groups=unpriv, privileged_groups=priv)
    call = {
        "disparate_impact": metric.disparate_impact,
        "statistical_parity_difference": metric.statistical_parity_difference,
        "equal_opportunity_difference": metric.equal_opportunity_difference,
        "average_odds_difference": metric.average_odds_difference,
        "theil_index": metric.theil_index,
    }
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
        return float(
            BinaryLabelDatasetMetric(
                binary_label_dataset(y, groups, attrs), unprivileged_groups=unpriv, privileged_groups=priv
            ).disparate_impact()
        )


def reweighing_weights(y: np.ndarray, groups: Mapping[str, np.ndarray], attrs: Sequence[str]) -> np.ndarray:
    """Per-sample weights P(group)P(label)/P(group, label) (Kamiran & Calders 2012); rows outside both groups keep 1."""
    priv, unpriv = group_conditions(attrs)
    ds = Reweighing(unprivileged_groups=unpriv, privileged_groups=priv).fit_transform(
        binary_label_dataset(y, groups, attrs)
    )
    return ds.instance_weights.astype(np.float32)


def fit_postprocessor(
    method: str,
    y_val: np.ndarray,
    score_val: np.ndarray,
    groups_val: Mapping[str, np.ndarray],
    attrs: Sequence[str],
    *,
    seed: int,
    cost: str = "fnr",
):
    """Fit calibrated equalized odds (cost ``fnr``/``fpr``/``weighted``), equalized odds or reject-option
    classification on validation labels and validation scores P(y = 1) (already calibrated for CEO)."""
    assert method in POSTPROCESSORS, method
    priv, unpriv = group_conditions(attrs)
    truth = binary_label_dataset(y_val, groups_val, attrs)
    pred = binary_label_dataset(y_val, groups_val, attrs, scores=score_val, labels=(score_val >= 0.5))
    if method == "calibrated_eq_odds":
        post = CalibratedEqOddsPostprocessing(
            unprivileged_groups=unpriv, privileged_groups=priv, cost_constraint=cost, seed=seed
        )
    elif method == "eq_odds":
        post = EqOddsPostprocessing(unprivileged_groups=unpriv, privileged_groups=priv, seed=seed)
    else:  # a coarser grid than the default 100 × 50 keeps a trial's fit under a second
        post = RejectOptionClassification(
            unprivileged_groups=unpriv, privileged_groups=priv, num_class_thresh=25, num_ROC_margin=20
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return post.fit(truth, pred)


def ceo_mix_rates(post) -> dict[str, float]:
    """The fitted mixing rates of calibrated equalized odds (valid only inside [0, 1])."""
    return {"privileged": float(post.priv_mix_rate), "unprivileged": float(post.unpriv_mix_rate)}


def apply_postprocessor(
    post, score: np.ndarray, groups: Mapping[str, np.ndarray], attrs: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """(0/1 predictions, scores) after post-processing. Rows in neither compared group (mixed
    intersections, other races) keep the model's: aif360's CalibratedEqOdds would set their score to 0."""
    from .metrics import privileged_masks

    yhat = (score >= 0.5).astype(np.int64)
    pred = binary_label_dataset(yhat, groups, attrs, scores=score, labels=yhat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = post.predict(pred)
    new, new_score = out.labels.ravel().astype(np.int64), out.scores.ravel().astype(np.float64)
    priv, unpriv = privileged_masks(groups, attrs)
    keep = priv | unpriv
    return np.where(keep, new, yhat), np.where(keep, new_score, score)


def prejudice_remover(
    x_fit: np.ndarray,
    y_fit: np.ndarray,
    groups_fit: Mapping[str, np.ndarray],
    x_test: np.ndarray,
    groups_test: Mapping[str, np.ndarray],
    attr: str,
    *,
    eta: float,
) -> np.ndarray:
    """Scores P(y = 1) on test of Kamishima et al.'s prejudice remover trained on the fit split."""
    import os
    import sys

    model = PrejudiceRemover(eta=eta, sensitive_attr=attr, class_attr="label")
    path = os.environ.get("PATH", "")
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + path
    try:
        model.fit(binary_label_dataset(y_fit, groups_fit, [attr], x=x_fit))
        if not os.path.getsize(model.model_name):
            raise RuntimeError("aif360 PrejudiceRemover wrote no model (its train_pr.py subprocess failed)")
        dummy = np.zeros(len(x_test))
        scores = model.predict(binary_label_dataset(dummy, groups_test, [attr], x=x_test)).scores.ravel()
    finally:
        os.environ["PATH"] = path
    return np.asarray(scores, np.float64)
