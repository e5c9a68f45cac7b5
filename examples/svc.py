"""Tuning a scikit-learn SVC with a categorical `kernel`: a real tuning task, no download.

    npopt run examples/svc.py --budget 40

Maximises the 5-fold cross-validated accuracy on scikit-learn's bundled breast-cancer data
(569 samples, 30 features, standardised). `kernel` is a categorical, `shrinking` a boolean
choice; `degree` matters only for the polynomial kernel and `coef0` for poly and sigmoid,
as in real tuning problems where some parameters are irrelevant for some choices.
"""

import warnings

import npopt

space = {
    "kernel": npopt.Categorical(["rbf", "linear", "poly", "sigmoid"]),
    "C": npopt.Float(1e-3, 1e3, log=True),
    "gamma": npopt.Float(1e-5, 1e1, log=True),
    "degree": npopt.Int(2, 5),
    "coef0": npopt.Float(-1.0, 1.0),
    "shrinking": npopt.Categorical([True, False]),
}
direction = "maximize"

_DATA = None


def _data():
    global _DATA
    if _DATA is None:
        from sklearn.datasets import load_breast_cancer

        _DATA = load_breast_cancer(return_X_y=True)
    return _DATA


def objective(kernel: str, C: float, gamma: float, degree: int, coef0: float, shrinking: bool) -> float:
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    X, y = _data()
    model = make_pipeline(
        StandardScaler(),
        SVC(kernel=kernel, C=C, gamma=gamma, degree=degree, coef0=coef0, shrinking=shrinking, max_iter=100_000),
    )
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter reached on hopeless settings: a low score says enough
        return float(cross_val_score(model, X, y, cv=folds).mean())
