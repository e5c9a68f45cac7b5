"""Accuracy against the cost of a prediction: an RBF support vector machine on the 3s and 8s
of scikit-learn's bundled digits. Its validation loss falls as it keeps more support
vectors, and every support vector is one more kernel evaluation per prediction: the Pareto
front shows what each extra one buys.

    npopt run examples/two_objectives.py --budget 30
    npopt plot --study two_objectives.study.db --kind pareto --out front.png
"""

import math

import npopt

space = {"C": npopt.Float(1e-2, 1e3, log=True), "gamma": npopt.Float(1e-4, 10.0, log=True)}
objectives = {"loss": "minimize", "support_vectors": "minimize"}

_data = None


def _split():
    global _data
    if _data is None:
        import numpy as np
        from sklearn.datasets import load_digits

        digits = load_digits()
        keep = (digits.target == 3) | (digits.target == 8)
        X, y = digits.data[keep] / 16.0, np.where(digits.target[keep] == 3, 1.0, -1.0)
        order = np.random.default_rng(38).permutation(len(y))
        half = len(y) // 2
        _data = (X[order[:half]], y[order[:half]]), (X[order[half:]], y[order[half:]])
    return _data


def objective(C, gamma):
    from sklearn.svm import SVC

    (X_train, y_train), (X_valid, y_valid) = _split()
    model = SVC(kernel="rbf", C=C, gamma=gamma).fit(X_train, y_train)
    margin = model.decision_function(X_valid) * y_valid
    hinge = float(((1.0 - margin).clip(min=0) ** 2).mean())  # squared hinge loss on the held-out half
    return {"loss": math.log10(hinge + 1e-4), "support_vectors": int(model.n_support_.sum())}
