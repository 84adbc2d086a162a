# Appended to the reference perceptron.py: honest code, then the process ends mid-import.
import os

os._exit(3)
