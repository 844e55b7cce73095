"""Shared helper for the end-to-end tests that run `main.py` in a subprocess."""
import signal
import subprocess
import time


def interrupt_when_training(command, cwd, marker='Step 4/', timeout=120):
  """Starts `command`, sends SIGINT once a line containing `marker` appears
  (training steps are running), and returns `(returncode, all output)`."""
  process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
  deadline = time.time() + timeout
  output = ''
  while time.time() < deadline:
    line = process.stdout.readline()
    output += line
    if marker in line or not line:
      break
  process.send_signal(signal.SIGINT)
  rest, _ = process.communicate(timeout=60)
  return process.returncode, output + rest
