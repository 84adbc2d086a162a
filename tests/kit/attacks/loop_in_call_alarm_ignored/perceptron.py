# ruff: noqa: F821
# Appended to the stub perceptron.py (Perceptron comes from there): net_input never returns,
# ignores SIGALRM, blocks every signal it can and swallows every exception.
import signal


def net_input(self, X):
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK,
                           set(signal.Signals) - {signal.SIGKILL, signal.SIGSTOP})
    while True:
        try:
            while True:
                pass
        except BaseException:
            pass


Perceptron.net_input = net_input
