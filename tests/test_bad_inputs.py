"""What a user can get wrong is refused before anything is loaded or compiled: one line
that names the field, the bad value and the fix, exit status 1, no traceback."""
import math

import pytest

import flowzoo
from flowzoo import checkpoint, config as config_lib
from tests import commands

QUICKSTART = "python -m flowzoo.main --config=configs/mixerflow_quickstart.py"


def refused(command, *expected):
  out = commands.run(command, commands.REPO)
  assert out.returncode != 0, out.stdout
  assert "Traceback" not in out.stderr, out.stderr
  assert "compiling" not in out.stdout and "workdir" not in out.stdout, out.stdout
  for text in expected:
    assert text in out.stderr, out.stderr
  return out.stderr


@pytest.mark.parametrize("override, expected", [
    ("--config.train.lr=nan", "config.train.lr=nan must be a number > 0"),
    ("--config.data.shape=(32,32)", "data.shape=(32, 32) must be (H, W, C)"),
    ("--config.train.lrr=1", "did you mean --config.train.lr?"),
    ("--config.sample.temperature=-1", "config.sample.temperature=-1.0 must be a number >= 0"),
])
def test_main_refuses_a_bad_config_in_one_line(override, expected, tmp_path):
  err = refused(f"{QUICKSTART} {override} --workdir={tmp_path / 'run'}", expected)
  assert len(err.strip().splitlines()) <= 2  # the error, and how to see its traceback
  assert not (tmp_path / "run").exists()


def test_main_refuses_a_missing_config_file_before_anything_else():
  err = refused("python -m flowzoo.main --config=configs/quickstrat.py",
                "no config file", "quickstart.py")
  assert len(err.strip().splitlines()) == 1


def test_an_unknown_dataset_says_how_to_list_names_without_listing_them(tmp_path):
  err = refused(f"{QUICKSTART} --config.data.name=cifar100000 --workdir={tmp_path}",
                "data.name='cifar100000'", "list_builders")
  assert len(err) < 1000


def test_a_workdir_of_another_model_is_named_by_model_name(tmp_path):
  checkpoint.save_config(tmp_path, flowzoo.load_config(f"{commands.CONFIGS}/jet_quickstart.py"))
  refused(f"{QUICKSTART} --workdir={tmp_path}", "config.model.name='jet'")


@pytest.mark.parametrize("flag, expected", [
    ("--num=0", "--num"), ("--temperature=-1", "--temperature"),
    ("--temperature=nan", "--temperature"), ("--temperatures=0.5,inf", "--temperatures")])
def test_sample_refuses_bad_flags(flag, expected, tmp_path):
  refused(f"python -m flowzoo.sample --workdir={tmp_path} {flag}", expected)


@pytest.mark.parametrize("dotted, value", [
    ("train.lr", math.nan), ("train.lr", 0.0), ("train.lr", -1e-3), ("train.lr", math.inf),
    ("train.steps", 0), ("train.batch_size", -8),
    ("train.grad_clip", -1.0), ("train.grad_clip", math.nan), ("train.b2", 1.0),
    ("train.warmup_steps", -1), ("eval.num_samples", 0), ("sample.num", 0),
    ("sample.temperature", -0.1), ("sample.temperature", math.nan), ("checkpoint.keep", 0),
    ("train.max_consecutive_skips", 0), ("train.progress_every_seconds", -1.0)])
def test_every_trainer_number_is_checked(dotted, value):
  config = flowzoo.load_config(f"{commands.CONFIGS}/mixerflow_quickstart.py")
  section, field = dotted.split(".")
  config[section][field] = value
  with pytest.raises(ValueError, match=f"config.{dotted}="):
    config_lib.validate(config)


def test_the_configs_as_shipped_are_valid():
  config_lib.validate(flowzoo.load_config(f"{commands.CONFIGS}/mixerflow_quickstart.py"))
  config = flowzoo.load_config(f"{commands.CONFIGS}/mixerflow_quickstart.py")
  config.train.update(grad_clip=0.0, warmup_steps=0, b1=0.0)  # the edges are allowed
  config_lib.validate(config)


def test_a_run_resumes_with_another_backprop_but_not_another_model(tmp_path):
  config = flowzoo.load_config(str(commands.CONFIGS / "mixerflow_quickstart.py"))
  checkpoint.save_config(tmp_path, config)
  config.model.backprop = "invertible"  # how gradients are computed, not the variables
  checkpoint.check_same_run(tmp_path, config)
  config.model.hidden += 1
  with pytest.raises(ValueError, match="config.model.hidden=64, but this config has 65"):
    checkpoint.check_same_run(tmp_path, config)
