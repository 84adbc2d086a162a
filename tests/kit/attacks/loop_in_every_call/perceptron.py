# ruff: noqa: F821
# Appended to the reference perceptron.py (Perceptron comes from there): making a Perceptron
# never ends, so every test of the exercise hangs.
def __init__(self, n_features, lr=1.0):
    while True:
        pass


Perceptron.__init__ = __init__
