# ruff: noqa: F821
# Appended to the stub perceptron.py: show the process's environment everywhere a student may
# read it: printed (stdout, stderr), in every error message, and as every method's result.
import contextlib
import os
import sys

ENVIRONMENT = repr(dict(os.environ))


def leak(*args, **kwargs):
    print(ENVIRONMENT)
    print(ENVIRONMENT, file=sys.stderr)
    raise RuntimeError(ENVIRONMENT)


with contextlib.suppress(RuntimeError):
    leak()
Perceptron.net_input = Perceptron.predict = Perceptron.fit = leak
