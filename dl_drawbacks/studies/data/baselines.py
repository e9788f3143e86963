"""Classical baselines trained on exactly the trial's train subsample, each selecting its own
hyperparameter on the same validation rows the MLP early-stops on, and scored on the test split:
multinomial logistic regression (C from a grid, by validation log loss) and histogram gradient
boosting (number of boosting iterations, by validation log loss over its staged predictions).
Equal data: every learner sees n training rows plus the same validation rows, used only for selection."""

from __future__ import annotations

import time

import numpy as np

# scikit-learn is imported where a baseline is fitted: registering the data study (every Ray worker does, to find
# its kind) must not cost a trial that fits none the import of sklearn, scipy and pandas.

C_GRID = (0.01, 0.1, 1.0, 10.0, 100.0)
MAX_BOOSTING_ITERATIONS = 200


def _val_loss(proba: np.ndarray, classes: np.ndarray, y_val: np.ndarray) -> float:
    """Validation log loss; a validation class the subsample never saw costs as a probability of 1e-15."""
    from sklearn.metrics import log_loss

    full = np.full((len(y_val), int(max(classes.max(), y_val.max())) + 1), 1e-15)
    full[:, classes] = proba
    return float(log_loss(y_val, full, labels=np.arange(full.shape[1])))


def _logistic(x, y, x_val, y_val, x_test, seed):
    from sklearn.linear_model import LogisticRegression

    fits = [LogisticRegression(max_iter=2000, C=c).fit(x, y) for c in C_GRID]
    losses = [_val_loss(m.predict_proba(x_val), m.classes_, y_val) for m in fits]
    best = int(np.argmin(losses))
    return fits[best].predict(x_test), {"C": C_GRID[best]}


def _boosting(x, y, x_val, y_val, x_test, seed):
    from sklearn.ensemble import HistGradientBoostingClassifier

    # min_samples_leaf shrinks below scikit-learn's 20 for tiny subsamples, else 16 rows could never split
    model = HistGradientBoostingClassifier(max_iter=MAX_BOOSTING_ITERATIONS, early_stopping=False, random_state=seed,
                                           min_samples_leaf=min(20, max(1, len(y) // 20))).fit(x, y)
    losses = [_val_loss(p, model.classes_, y_val) for p in model.staged_predict_proba(x_val)]
    best = int(np.argmin(losses))
    pred = next(p for i, p in enumerate(model.staged_predict(x_test)) if i == best)
    return pred, {"boosting_iterations": best + 1}


BASELINES = {"logistic_regression": _logistic, "gradient_boosting": _boosting}


def evaluate_baseline(name: str, train: tuple[np.ndarray, np.ndarray], val: tuple[np.ndarray, np.ndarray],
                      test: tuple[np.ndarray, np.ndarray], *, seed: int, threads: int = 1) -> dict:
    """Per-test-sample correctness, the selected hyperparameter and fit seconds of baseline ``name``;
    a single-class train subsample predicts that class (nothing to select)."""
    from threadpoolctl import threadpool_limits

    (x, y), (x_val, y_val), (x_test, y_test) = train, val, test
    start = time.perf_counter()
    if len(np.unique(y)) < 2:
        pred, chosen = np.full(len(y_test), y[0]), {}
    else:
        with threadpool_limits(threads):
            pred, chosen = BASELINES[name](x, y, x_val, y_val, x_test, seed)
    return {"correct": (pred == y_test).astype(float), "selected": chosen, "fit_seconds": time.perf_counter() - start}
