# An untagged cell: end the process (a grader that ran it would lose every exercise).
import os

os._exit(7)
