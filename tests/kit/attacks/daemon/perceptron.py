# Appended to the stub perceptron.py: a daemon (double fork, setsid, SIGTERM and SIGHUP
# ignored) that waits for the worker process to end, then writes a marker file wherever it can:
# the marker appears only if the daemon outlived the process that started it.
import os
import subprocess
import sys

DAEMON = r'''
import os, signal, sys, time
for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
    signal.signal(number, signal.SIG_IGN)
worker = int(sys.argv[1])
while os.path.exists(f"/proc/{worker}"):
    time.sleep(0.05)
time.sleep(0.5)
for folder in ("/tmp", os.path.expanduser("~"), "/root", "/var/tmp", "/dev/shm", os.getcwd()):
    try:
        with open(os.path.join(folder, "dlkit-attack-daemon-marker"), "w") as file:
            file.write("the daemon outlived the grading")
    except OSError:
        pass
while True:
    time.sleep(1)
'''

worker = os.getpid()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        subprocess.Popen([sys.executable, "-c", DAEMON, str(worker), "dlkit-attack-daemon"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    os._exit(0)
