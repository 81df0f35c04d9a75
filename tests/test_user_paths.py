"""The README's commands as a user types them: subprocesses, relative paths, re-runs.

Every command runs from a directory laid out like the repository root (configs/
and experiments/ beside a runs/ of its own, so a developer's runs/ is left
alone), with only size overrides, and must exit 0 with no traceback, write what
it says, print absolute paths and leave exactly one leaderboard record per
finished run. The embedded dataset comes from the test session's TFDS data_dir
(TFDS_DATA_DIR), as it would from ~/tensorflow_datasets.
"""
import json
import os
import pathlib
import signal
import time

import numpy as np
import pytest
from PIL import Image

from flowzoo import records
from tests import commands

STEPS = 4
# Size overrides only: fewer steps, a smaller batch and model, a tenth of the test split.
SIZE = (f"--config.train.steps={STEPS} --config.train.batch_size=16 "
        "--config.train.warmup_steps=1 --config.checkpoint.every_steps=2 "
        "--config.model.num_layers=2 --config.model.shift=0 --config.model.hidden=8 "
        "--config.eval.batch_size=100 --config.data.eval_split=test[:200] "
        "--config.sample.num=4")


def readme_command():
  """The main job of the README's first line: `pip install -e . && <this>   # ...`."""
  first = next(line for line in (commands.REPO / "README.md").read_text().splitlines()
               if line.strip().startswith("pip install -e . &&"))
  return first.split("&&", 1)[1].split("#", 1)[0].strip()


QUICKSTART = f"{readme_command()} {SIZE}"


@pytest.fixture(scope="module")
def root(tmp_path_factory, shapes_data_dir):
  """A directory like the repository root, and the environment of the user's shell."""
  root = tmp_path_factory.mktemp("checkout")
  for name in ("configs", "experiments"):
    (root / name).symlink_to(commands.REPO / name)
  return root, {"TFDS_DATA_DIR": str(shapes_data_dir)}


def run(root, command, cwd=None):
  """Runs a command that must succeed quietly: exit 0, nothing but flowzoo's lines."""
  out = commands.run(command, cwd or root[0], env=root[1])
  assert out.returncode == 0, f"{command}\n{out.stdout}\n{out.stderr}"
  assert not out.stderr.strip(), f"{command} printed to stderr:\n{out.stderr}"
  assert all(line.startswith("flowzoo: ") for line in out.stdout.splitlines()), out.stdout
  return out.stdout


def records_of(board, workdir):
  found, problems = records.read_records(board)
  assert not problems
  return [r for r in found if r["workdir"] == str(workdir)]


def said(stdout, label):
  """The absolute path a run printed after `label` (e.g. 'workdir')."""
  for line in stdout.splitlines():
    words = line.split()
    if len(words) >= 3 and words[1] == label:
      assert os.path.isabs(words[2]), line
      return pathlib.Path(words[2])
  raise AssertionError(f"no '{label}' line in:\n{stdout}")


def assert_finished_run(workdir, board):
  assert (workdir / "checkpoints" / str(STEPS)).is_dir()
  assert not list((workdir / "checkpoints").glob("*tmp*"))
  grid = np.asarray(Image.open(workdir / f"samples_{STEPS}.png"))
  assert grid.shape == (2 * 33 + 1, 2 * 33 + 1, 3)  # 4 samples of 32x32, a 1-pixel frame
  result = json.loads((workdir / "result.json").read_text())
  assert result["step"] == STEPS and np.isfinite(result["bpd"])
  (record,) = records_of(board, workdir)
  assert record["bpd"] == result["bpd"] and record["steps"] == STEPS
  # What the leaderboard compares, from what the run used (flowzoo/records.py).
  assert records.lacking(record) == []
  assert (record["dataset"], record["dataset_version"], record["image_shape"]) == (
      "flowzoo_shapes/rgb", "1.0.0", [32, 32, 3])
  assert (record["bound"], record["dequantization"], record["device_kind"]) == (
      "elbo", "uniform", "cpu")
  assert record["sampling"]["batch"] == 4 and record["sampling"]["images_per_s"] > 0
  assert record["sample_temperature"] == 0.7 and record["fid"] is None
  assert record["device_hours"] > 0
  return result


@pytest.fixture(scope="module")
def default_run(root):
  return run(root, QUICKSTART)


def test_the_readme_opens_with_the_quickstart():
  assert readme_command() == "python -m flowzoo.main --config=configs/quickstart.py"


@pytest.mark.slow
def test_main_with_the_default_workdir(root, default_run):
  cwd, _ = root
  workdir = said(default_run, "workdir")
  assert workdir.parent == cwd / "runs" and workdir.name.startswith("quickstart-")
  result = assert_finished_run(workdir, cwd / "runs" / "leaderboard")
  # The closing lines say what the number is, and where everything went.
  assert f"test bpd {result['bpd']:.4f}" in default_run
  assert "bits per dimension" in default_run and "lower is better" in default_run
  assert "at initialisation" in default_run  # the quickstart's baseline
  assert said(default_run, "leaderboard").parent == cwd / "runs" / "leaderboard"
  assert "compiled in" in default_run and f"step {STEPS}/{STEPS}" in default_run


@pytest.fixture(scope="module")
def relative_run(root, default_run):
  del default_run  # one run at a time: they share 2 cores
  return run(root, f"{QUICKSTART} --workdir=runs/rel")


@pytest.mark.slow
def test_main_with_a_relative_workdir(root, relative_run):
  cwd, _ = root
  assert said(relative_run, "workdir") == cwd / "runs" / "rel"
  assert_finished_run(cwd / "runs" / "rel", cwd / "runs" / "leaderboard")


@pytest.mark.slow
def test_running_a_finished_workdir_again_prints_its_result(root, relative_run):
  cwd, _ = root
  before = json.loads((cwd / "runs" / "rel" / "result.json").read_text())
  again = run(root, f"{QUICKSTART} --workdir=runs/rel")
  assert "finished before" in again and "compiling" not in again
  assert f"test bpd {before['bpd']:.4f}" in again
  assert_finished_run(cwd / "runs" / "rel", cwd / "runs" / "leaderboard")  # still one record


@pytest.mark.slow
def test_a_run_killed_after_its_last_checkpoint_finishes_once(root, relative_run):
  del relative_run
  cwd, env = root
  workdir = cwd / "runs" / "killed"
  command = f"{QUICKSTART} --workdir=runs/killed"
  process = commands.popen(command, cwd, env=env)
  last = workdir / "checkpoints" / str(STEPS)
  deadline = time.time() + 600
  while not last.is_dir() and process.poll() is None and time.time() < deadline:
    time.sleep(0.05)
  process.send_signal(signal.SIGKILL)
  process.communicate()
  assert last.is_dir()
  restarted = run(root, command)
  assert "compiling" not in restarted  # nothing left to train: straight to the evaluation
  assert_finished_run(workdir, cwd / "runs" / "leaderboard")


@pytest.mark.slow
def test_sample_and_load_with_relative_paths(root, relative_run):
  del relative_run
  cwd, env = root
  out = run(root, "python -m flowzoo.sample --workdir=runs/rel --num=4 --temperatures=0,1 "
                  "--per_temperature=2")
  grid = cwd / "runs" / "rel" / "sample_T0.7.png"
  assert str(grid) in out and grid.exists()
  assert np.asarray(Image.open(cwd / "runs" / "rel" / "sample_T0.7_temperatures.png")).shape[:2] == (
      2 * 33 + 1, 2 * 33 + 1)
  (cwd / "notebooks").mkdir(exist_ok=True)
  script = ("import flowzoo; model, variables, config = flowzoo.load({!r}); "
            "print('flowzoo: ', flowzoo.count_params(variables), config.train.steps)")
  for where, path in ((cwd, "runs/rel"), (cwd / "notebooks", "../runs/rel")):
    out = run(root, ["python", "-c", script.format(path)], cwd=where)
    assert out.split()[-1] == str(STEPS)


@pytest.mark.slow
def test_leaderboard_md_and_html(root, relative_run):
  del relative_run
  cwd, env = root
  for command in ("python -m flowzoo.leaderboard --dir=runs/leaderboard --format=md",
                  "python -m flowzoo.leaderboard --dir=runs/leaderboard --format=html "
                  "--out=board.html"):
    out = commands.run(command, cwd, env=env)
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    # The table goes to stdout (or --out); stderr names the plots it wrote, absolutely.
    for line in out.stderr.splitlines():
      assert line.startswith("wrote /"), line
  assert out.stdout == "" and "mixerflow" in (cwd / "board.html").read_text()
  table = commands.run("python -m flowzoo.leaderboard --dir=runs/leaderboard --format=md",
                       cwd, env=env).stdout
  finished = [json.loads(p.read_text())["workdir"] for p in (cwd / "runs").glob("*/result.json")]
  assert len(finished) >= 2
  for workdir in finished:  # one row per finished run: none lost, none twice
    assert table.count(f"{workdir} |") == 1, table


@pytest.mark.slow
def test_sweep_under_a_relative_root(root, relative_run):
  del relative_run
  cwd, _ = root
  (cwd / "tiny_sweep.py").write_text(
      "from flowzoo.config import load_config\n"
      "def get_config(arg=None):\n"
      "  return load_config('configs/mixerflow_quickstart.py')\n"
      "def get_sweep(arg=None):\n"
      f"  return [{{'name': 'one', {SIZE_DICT}}}]\n")
  command = ("python -m flowzoo.sweep --config=tiny_sweep.py --workdir_root=runs/sw "
             "--leaderboard_dir=runs/sw-board")
  out = commands.run(command, cwd, env=root[1])
  assert out.returncode == 0 and "1 ran, 0 failed" in out.stdout, out.stdout + out.stderr
  assert_finished_run(cwd / "runs" / "sw" / "one", cwd / "runs" / "sw-board")
  again = commands.run(command, cwd, env=root[1])
  assert again.returncode == 0 and "0 of 1 members to run" in again.stdout
  assert_finished_run(cwd / "runs" / "sw" / "one", cwd / "runs" / "sw-board")


def _size_dict():
  items = []
  for flag in SIZE.split():
    key, value = flag[len("--config."):].split("=", 1)
    items.append(f"{key!r}: {value!r}" if key == "data.eval_split" else f"{key!r}: {value}")
  return ", ".join(items)


SIZE_DICT = _size_dict()
