# Appended to the stub perceptron.py: write a marker file (never overwriting one) wherever it
# can outside its own folder: /tmp, home folders, the system, the Python installation (a .pth
# file there would run in every later Python), and any checkout of the kit it finds.
import glob
import os
import site
import sys
import sysconfig

NAME = "dlkit-attack-write_outside_staging"


def kit_checkouts():
    """Folders that look like the kit (pyproject.toml beside grader/), up to 4 levels down."""
    found = []
    for root in ("/", os.path.dirname(os.getcwd()), *glob.glob("/proc/[0-9]*/cwd")):
        for folder, subfolders, files in os.walk(root):
            if folder.count(os.sep) - root.count(os.sep) >= 4 or folder.startswith("/proc"):
                subfolders.clear()
            if "pyproject.toml" in files and "grader" in subfolders:
                found += [folder, os.path.join(folder, "tests"), os.path.join(folder, "solutions")]
    return found


def folders():
    yield from ("/tmp", "/var/tmp", "/dev/shm", "/root", "/etc", "/usr/local/lib", "/", "..")
    yield from glob.glob("/home/*")
    yield os.path.dirname(sys.executable)
    yield from [*sys.path, *site.PREFIXES, sysconfig.get_paths()["purelib"]]
    yield from kit_checkouts()


for folder in set(folders()):
    for name in (NAME, f"{NAME}.pth"):
        try:
            with open(os.path.join(folder, name), "x") as file:
                file.write("dlkit-attack-nonexistent-folder\n")  # a .pth line that adds nothing
        except OSError:
            pass
