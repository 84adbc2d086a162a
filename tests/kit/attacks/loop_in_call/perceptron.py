# ruff: noqa: F821
# Appended to the stub perceptron.py (Perceptron comes from there): net_input never returns.
def net_input(self, X):
    while True:
        pass


Perceptron.net_input = net_input
