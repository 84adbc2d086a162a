# Appended to the reference perceptron.py: honest code, then an import that never ends.
while True:
    pass
