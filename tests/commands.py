"""Running flowzoo's commands as a user types them: subprocesses, one CPU device.

A user's run sees one CPU device: conftest's eight emulated devices would only
slow every subprocess down. The rest of the environment (the XLA compilation
cache of the test session among it) is passed on.
"""
import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent
CONFIGS = REPO / "configs"  # config files, wherever the tests run from

ENV = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
_XLA_FLAGS = os.environ.get("XLA_FLAGS", "").replace(
    "--xla_force_host_platform_device_count=8", "").strip()
if _XLA_FLAGS:
  ENV["XLA_FLAGS"] = _XLA_FLAGS


def run(command, cwd, env=None, timeout=600):
  """Runs `command`, a shell-like line starting with 'python', in cwd; CompletedProcess.

  'python' is this interpreter, the one the README's `pip install` installed into.
  """
  argv = command.split() if isinstance(command, str) else list(command)
  if argv[0] == "python":
    argv[0] = sys.executable
  return subprocess.run(argv, cwd=cwd, env={**ENV, **(env or {})}, capture_output=True,
                        text=True, timeout=timeout, check=False)


def popen(command, cwd, env=None):
  argv = command.split()
  if argv[0] == "python":
    argv[0] = sys.executable
  return subprocess.Popen(argv, cwd=cwd, env={**ENV, **(env or {})}, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
