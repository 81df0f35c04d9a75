"""Sweeps: members, names and commands; a toy sweep end to end into one leaderboard;
re-runs skip finished members; the sample command's temperature sweep and interpolations."""
import shlex
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

import flowzoo
from flowzoo import checkpoint, data, flops, records, sweep
from tests.commands import CONFIGS, ENV

TINY = {"train.steps": 3, "model.num_layers": 2, "model.shift": 0, "model.flow_layers": 1,
        "model.hidden": 8, "eval.batch_size": 400, "train.batch_size": 16, "train.warmup_steps": 1, "sample.num": 4}


def test_member_names_are_readable_distinct_and_deterministic():
  members = [{"model.hidden": h, "train.lr": lr} for h in (8, 16) for lr in (0.001, 0.01)]
  assert sweep.member_names(members) == ["hidden=8,lr=0.001", "hidden=8,lr=0.01",
                                         "hidden=16,lr=0.001", "hidden=16,lr=0.01"]
  # Overrides that every member shares do not name a member.
  assert sweep.member_names([{"model.hidden": h, "train.lr": 0.001} for h in (8, 16)]) == [
      "hidden=8", "hidden=16"]
  # A last component shared by two keys is spelled out in full.
  clash = [{"train.batch_size": 16, "eval.batch_size": 400}, {"train.batch_size": 8}]
  assert sweep.member_names(clash) == ["eval.batch_size=400,train.batch_size=16",
                                       "train.batch_size=8"]
  assert sweep.member_names([{"arg": "toy,jet", "model.kinds": ("channels", "spatial")}]) == [
      "toy-jet,kinds=channels+spatial"]
  assert sweep.member_names([{"name": "full"}, {}]) == ["full", "base"]
  with pytest.raises(ValueError, match="share the workdir name"):
    sweep.member_names([{"name": "a", "seed": 1}, {"name": "a", "seed": 2}])


def test_a_sweep_file_loads_as_a_config_file_does(tmp_path):
  """The same refusal of a missing file, the argument after ':' passed on, and a config
  file without get_sweep named."""
  with pytest.raises(FileNotFoundError, match="no config file"):
    sweep.load_sweep(f"{tmp_path}/missing.py:toy")
  (tmp_path / "members.py").write_text(
      "def get_sweep(arg=None):\n  return [{'seed': 1, 'name': arg}]\n")
  assert sweep.load_sweep(f"{tmp_path}/members.py:a") == [{"seed": 1, "name": "a"}]
  (tmp_path / "plain.py").write_text("def get_config(arg=None):\n  return None\n")
  with pytest.raises(ValueError, match="plain.py defines no get_sweep"):
    sweep.load_sweep(f"{tmp_path}/plain.py")


@pytest.fixture(scope="module")
def data_dir(shapes_data_dir):
  return shapes_data_dir


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory, data_dir):
  """A sweep config of two tiny quickstart members that differ in their hidden width."""
  path = tmp_path_factory.mktemp("configs") / "tiny_sweep.py"
  path.write_text(textwrap.dedent(f"""
      from flowzoo.config import load_config

      def get_config(arg=None):
        config = load_config({str(CONFIGS / "mixerflow_quickstart.py")!r})
        config.data.data_dir = {str(data_dir)!r}
        return config

      def get_sweep(arg=None):
        return [dict({TINY!r}, **{{"model.hidden": h}}) for h in (8, 12)]
      """))
  return path


def _sweep(*args):
  out = subprocess.run([sys.executable, "-m", "flowzoo.sweep", *args], check=True,
                       capture_output=True, text=True, env=ENV)
  return out.stdout, out.stderr


def test_dry_run_prints_the_command_of_every_member(sweep_file, tmp_path):
  stdout, _ = _sweep(f"--config={sweep_file}", "--dry_run", f"--workdir_root={tmp_path}",
                     f"--leaderboard_dir={tmp_path / 'board'}")
  lines = stdout.strip().splitlines()
  assert len(lines) == 2
  for line, hidden in zip(lines, (8, 12)):
    argv = shlex.split(line)
    assert argv[:4] == ["python", "-m", "flowzoo.main", f"--config={sweep_file}"]
    assert f"--config.model.hidden={hidden}" in argv
    assert "--config.train.steps=3" in argv
    assert f"--config.leaderboard.dir={tmp_path / 'board'}" in argv
    assert argv[-1] == f"--workdir={tmp_path / f'hidden={hidden}'}"
  assert not list(tmp_path.iterdir())  # a dry run starts nothing


@pytest.fixture(scope="module")
def finished_sweep(sweep_file, tmp_path_factory):
  root = tmp_path_factory.mktemp("sweep")
  _sweep(f"--config={sweep_file}", "--parallel=2", f"--workdir_root={root / 'runs'}",
         f"--leaderboard_dir={root / 'board'}")
  return root


@pytest.mark.slow
def test_toy_sweep_writes_one_record_per_member_into_one_board(finished_sweep):
  found, problems = records.read_records(finished_sweep / "board")
  assert not problems
  assert sorted(r["config"]["model"]["hidden"] for r in found) == [8, 12]
  for r in found:
    assert r["steps"] == 3 and np.isfinite(r["bpd"])
    assert r["workdir"].startswith(str(finished_sweep / "runs"))
    assert r["config"]["model"]["num_layers"] == 2
    assert r["train_flops_method"] == flops.METHOD
  narrow, wide = sorted(found, key=lambda r: r["config"]["model"]["hidden"])
  assert 0 < narrow["train_flops"] < wide["train_flops"]


@pytest.mark.slow
def test_rerun_skips_finished_members(finished_sweep, sweep_file):
  args = (f"--config={sweep_file}", f"--workdir_root={finished_sweep / 'runs'}",
          f"--leaderboard_dir={finished_sweep / 'board'}")
  stdout, stderr = _sweep(*args)
  assert "0 of 2 members to run" in stdout
  assert stderr.count("skip") == 2
  assert _sweep(*args, "--dry_run")[0] == ""
  assert len(records.read_records(finished_sweep / "board")[0]) == 2


def test_finished_means_the_trainer_reported_the_last_step(tmp_path):
  config = flowzoo.load_config(f"{CONFIGS}/mixerflow_quickstart.py")
  config.train.steps = 7
  workdir = tmp_path / "run"
  (workdir / "checkpoints" / "7").mkdir(parents=True)
  assert not sweep.is_finished(workdir, config)  # interrupted in its final evaluation
  checkpoint.save_result(workdir, {"step": 5})
  assert not sweep.is_finished(workdir, config)  # a result of fewer steps: run on
  checkpoint.save_result(workdir, {"step": 7})
  assert sweep.is_finished(workdir, config)


@pytest.mark.slow
def test_sample_writes_temperature_rows_and_interpolations(finished_sweep, tmp_path):
  workdir = next((finished_sweep / "runs").iterdir())
  out = tmp_path / "grid.png"
  subprocess.run([sys.executable, "-m", "flowzoo.sample", f"--workdir={workdir}", "--num=4",
                  f"--out={out}", "--per_temperature=3", "--interpolate", "--pairs=2",
                  "--interpolation_steps=4"], check=True, capture_output=True, env=ENV)
  sweep_grid = np.asarray(Image.open(tmp_path / "grid_temperatures.png"))
  assert sweep_grid.shape == (5 * 33 + 1, 3 * 33 + 1, 3)  # rows: T = 0, 0.5, 0.7, 0.8, 1.0
  cell = lambda g, r, c: g[1 + 33 * r:33 * (r + 1), 1 + 33 * c:33 * (c + 1)]
  # T = 0 draws the prior's mode for every column; T = 1 draws distinct samples.
  assert all(np.array_equal(cell(sweep_grid, 0, 0), cell(sweep_grid, 0, c)) for c in (1, 2))
  assert not np.array_equal(cell(sweep_grid, 4, 0), cell(sweep_grid, 4, 1))
  walk = np.asarray(Image.open(tmp_path / "grid_interpolations.png"))
  assert walk.shape == (2 * 33 + 1, 4 * 33 + 1, 3)
  # Both ends of every row decode back to the test images they started from.
  _, _, config = flowzoo.load(workdir)
  ds = data.get_datasets(config.data, global_batch_size=4, eval_batch_size=4, seed=0,
                         process_index=0, process_count=1)
  images = np.asarray(next(iter(ds.eval()))[0])
  for pair in range(2):
    for col, image in ((0, images[pair]), (3, images[2 + pair])):
      diff = np.abs(cell(walk, pair, col).astype(int) - image.astype(int))
      assert diff.max() <= 1 and np.mean(diff > 0) < 1e-3
