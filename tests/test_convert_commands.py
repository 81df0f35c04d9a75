"""Released weights end to end, as a user types it: convert, evaluate, sample, fine-tune.

The weights are big_vision's, from the Jet parity fixture; the data is a folder of
32x32 photo crops (tests/data/photo_crops.png) that the data layer resizes to the
fixture's 16x16. Every command is a subprocess with relative paths, must exit as a
user expects and leave exactly one record per evaluation.
"""
import json

import jax
import numpy as np
import pytest
from PIL import Image

import flowzoo
from flowzoo import checkpoint, convert, evaluate
from flowzoo.config import load_config
from tests import commands

FIXTURE = "tests/data/parity/jet_big_vision_small.npz"
CONFIG = "tests/data/parity/configs.py:jet"


@pytest.fixture(scope="module")
def user(tmp_path_factory):
  """A user's directory: the repository's tests/data beside a folder of photos."""
  root = tmp_path_factory.mktemp("user")
  (root / "tests").symlink_to(commands.REPO / "tests")
  mosaic = np.asarray(Image.open(commands.REPO / "tests/data/photo_crops.png").convert("RGB"))
  crops = mosaic.reshape(20, 32, 16, 32, 3).transpose(0, 2, 1, 3, 4).reshape(-1, 32, 32, 3)
  for split, images in (("train", crops[:64]), ("test", crops[300:])):
    (root / "photos" / split).mkdir(parents=True)
    for i, image in enumerate(images):
      Image.fromarray(image).save(root / "photos" / split / f"{i:03d}.png")
  return root


def run(command, cwd):
  out = commands.run(command, cwd)
  return out.returncode, out.stdout + out.stderr


@pytest.fixture(scope="module")
def converted(user):
  """runs/jet_released, converted by the command line: (exit code, output)."""
  return run(f"python -m flowzoo.convert --source=jet --prefix=params/ --checkpoint={FIXTURE} "
             f"--config={CONFIG} --config.data.name=folder:photos "
             "--config.leaderboard.dir=runs/board --workdir=runs/jet_released", user)


def test_convert_writes_a_run_that_holds_exactly_the_released_weights(user, converted):
  code, out = converted
  assert code == 0, out
  workdir = user / "runs/jet_released"
  assert f"wrote {workdir}" in out and "Traceback" not in out
  origin = json.loads((workdir / "weights.json").read_text())
  assert origin["source"] == "jet" and origin["sha256"] == convert.digest(user / FIXTURE)
  assert origin["checkpoint"] == str(user / FIXTURE)
  _, variables, config = flowzoo.load(workdir)
  assert config.data.name == f"folder:{user / 'photos'}"
  expected = convert.convert("jet", convert.read(commands.REPO / FIXTURE, "params/"),
                             load_config(str(commands.REPO / CONFIG)))
  for got, want in zip(jax.tree.leaves(variables), jax.tree.leaves(expected)):
    np.testing.assert_array_equal(np.asarray(got), want)


def test_convert_refuses_a_workdir_that_holds_a_run(user, converted):
  config = load_config(str(commands.REPO / CONFIG))
  with pytest.raises(ValueError, match="already holds a run"):
    convert.convert_to_workdir("jet", user / FIXTURE, config, user / "runs/jet_released", "params/")


def test_convert_names_a_checkpoint_of_another_size(user):
  config = load_config(str(commands.REPO / CONFIG))
  config.model.width = 64
  with pytest.raises(ValueError, match=r"'couplings/dnn/.*' has shape"):
    convert.convert_to_workdir("jet", user / FIXTURE, config, user / "runs/jet_wide", "params/")
  assert not (user / "runs/jet_wide").exists()


def records_of(board):
  return [json.loads(p.read_text()) for p in sorted(board.glob("*.json"))]


@pytest.mark.slow
def test_evaluate_records_the_bound_once_with_where_the_weights_came_from(user, converted):
  command = "python -m flowzoo.evaluate --workdir=runs/jet_released"
  code, out = run(command, user)
  assert code == 0, out
  assert "test bpd" in out and "on 20 folder:" in out and "(the ELBO)" in out, out
  (record,) = records_of(user / "runs/board")
  assert record["bound"] == "elbo" and record["images"] == 20 and record["steps"] == 0
  assert record["weights"]["source"] == "jet" and record["evaluated_by"] == "flowzoo.evaluate"
  assert np.isfinite(record["bpd"])

  code, again = run(command, user)  # A second evaluation of the same bound writes nothing.
  assert code == 0 and "recorded before" in again and f"{record['bpd']:.4f}" in again, again
  assert len(records_of(user / "runs/board")) == 1

  code, iwbo = run(command + " --config.eval.num_samples=4", user)
  assert code == 0, iwbo
  bounds = sorted(r["bound"] for r in records_of(user / "runs/board"))
  assert bounds == ["elbo", "iwbo-4"]
  (k4,) = [r for r in records_of(user / "runs/board") if r["bound"] == "iwbo-4"]
  assert k4["bpd"] <= record["bpd"] + 1e-3  # the IWBO is the tighter bound


def test_evaluate_refuses_another_model_or_a_mistyped_field(user, converted):
  config = checkpoint.load_config(user / "runs/jet_released")
  config.model.width = 64
  with pytest.raises(ValueError, match=r"config.model.width=32.*has 64"):
    evaluate.evaluate_run(config, user / "runs/jet_released")
  code, out = run("python -m flowzoo.evaluate --workdir=runs/jet_released "
                  "--config.eval.widht=3", user)
  assert code == 1 and "did you mean" in out and "Traceback" not in out, out


@pytest.mark.slow
def test_sample_and_fine_tune_use_the_converted_run(user, converted):
  code, out = run("python -m flowzoo.sample --workdir=runs/jet_released --num=4 "
                  "--temperatures= --out=runs/grid.png", user)
  assert code == 0 and (user / "runs/grid.png").exists(), out
  code, out = run(f"python -m flowzoo.main --config={CONFIG} --config.data.name=folder:photos "
                  "--config.leaderboard.dir=runs/board --workdir=runs/jet_released", user)
  assert code == 0 and "resuming" in out and "at step 0 of 2" in out, out
  (trained,) = [r for r in records_of(user / "runs/board") if r.get("evaluated_by") is None]
  assert trained["steps"] == 2 and trained["weights"]["sha256"] == convert.digest(user / FIXTURE)
