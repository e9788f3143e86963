"""Per-group Platt scaling (Platt 1999) of the model's P(y = 1), fitted on the validation split.

Calibrated equalized odds (Pleiss et al. 2017) presumes scores calibrated within each group; a
network's softmax is not. Each group cell gets a logistic regression on logit(p); a cell with one
label only or under ``min_rows`` rows uses the pooled fit.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), EPS, 1 - EPS)
    return np.log(p / (1 - p)).reshape(-1, 1)


class GroupPlatt:
    """fit(score, y, cell) -> self; transform(score, cell) -> calibrated scores (scikit-learn contract)."""

    def __init__(self, *, min_rows: int = 20) -> None:
        self.min_rows = min_rows

    def fit(self, score: np.ndarray, y: np.ndarray, cell: np.ndarray) -> "GroupPlatt":
        self.pooled_ = LogisticRegression(C=1e6).fit(_logit(score), y)
        self.models_ = {}
        for c in np.unique(cell):
            m = cell == c
            if m.sum() >= self.min_rows and len(np.unique(y[m])) == 2:
                self.models_[int(c)] = LogisticRegression(C=1e6).fit(_logit(score[m]), y[m])
        return self

    def transform(self, score: np.ndarray, cell: np.ndarray) -> np.ndarray:
        out = self.pooled_.predict_proba(_logit(score))[:, 1]
        for c, model in self.models_.items():
            m = cell == c
            if m.any():
                out[m] = model.predict_proba(_logit(score[m]))[:, 1]
        return out
