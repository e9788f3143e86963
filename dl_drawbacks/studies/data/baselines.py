"""Classical baselines trained on exactly the trial's train subsample and scored on its test split:
multinomial logistic regression and histogram gradient boosting (scikit-learn)."""

from __future__ import annotations

import time

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

BASELINES = {
    "logistic_regression": lambda seed, n: LogisticRegression(max_iter=2000, C=1.0),
    # min_samples_leaf shrinks below scikit-learn's 20 for tiny subsamples, else 16 rows could never split
    "gradient_boosting": lambda seed, n: HistGradientBoostingClassifier(max_iter=100, early_stopping=False, random_state=seed,
                                                                        min_samples_leaf=min(20, max(1, n // 20))),
}


def evaluate_baseline(name: str, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                      *, seed: int, threads: int = 1) -> dict[str, float]:
    """Test error and fit seconds of baseline ``name``; a single-class train subsample predicts that class."""
    start = time.perf_counter()
    if len(np.unique(y_train)) < 2:
        pred = np.full(len(y_test), y_train[0])
    else:
        with threadpool_limits(threads):
            model = BASELINES[name](seed, len(y_train)).fit(x_train, y_train)
            pred = model.predict(x_test)
    return {"error": float(np.mean(pred != y_test)), "fit_seconds": time.perf_counter() - start}
