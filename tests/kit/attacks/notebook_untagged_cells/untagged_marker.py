# An untagged cell: leave a marker file (a grader that ran it would let it write anywhere).
import os

for folder in ("/tmp", os.path.expanduser("~"), os.getcwd()):
    try:
        with open(os.path.join(folder, "dlkit-attack-notebook_untagged_cells"), "w") as file:
            file.write("an untagged cell ran")
    except OSError:
        pass
