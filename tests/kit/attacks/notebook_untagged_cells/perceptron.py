# ruff: noqa: F821
# Appended to the stub perceptron.py, as the notebook's cell tagged exercise:perceptron:
# net_input and predict answer 0.5 whatever X, fit stays a stub (the untagged cells would make
# the wrong answers look right).
def wrong(self, X, *args, **kwargs):
    return np.full(len(X), 0.5)


def fit(self, X, y, epochs=100):
    return [0]


Perceptron.net_input = Perceptron.predict = wrong
Perceptron.fit = fit
