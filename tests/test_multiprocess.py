"""Two processes joined by jax.distributed on localhost train like one process."""
import json
import os
import socket
import subprocess
import sys

import pytest

from tests.commands import REPO


def _free_port():
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_match_one_process(tmp_path):
  env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=1",
         "JAX_PLATFORMS": "cpu"}
  port = _free_port()
  runs = [(2, 0), (2, 1), (1, 0)]
  procs = [subprocess.Popen(
      [sys.executable, "-m", "tests.multiprocess_worker", str(port), str(n), str(i),
       str(tmp_path / f"{n}-{i}.json")], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
      for n, i in runs]
  for p in procs:
    out, _ = p.communicate(timeout=600)
    assert p.returncode == 0, out.decode()[-3000:]
  a, b, single = (json.loads((tmp_path / f"{n}-{i}.json").read_text()) for n, i in runs)
  assert a["processes"] == b["processes"] == 2 and a["devices"] == 2
  assert single["processes"] == 1 and single["devices"] == 1
  # Every process holds the same replicated state, equal to the one-process run's.
  assert a["loss"] == b["loss"] == pytest.approx(single["loss"], rel=1e-6)
  assert a["checksum"] == b["checksum"] == pytest.approx(single["checksum"], rel=1e-5)
