"""Every config file, and the :smoke variant of every paper config, loads and passes the
trainer's checks (nothing is compiled); their arguments follow big_vision's rules."""
import os

import pytest

import flowzoo
from flowzoo import config as config_lib
from tests.commands import CONFIGS

FILES = sorted(f for f in os.listdir(CONFIGS) if f.endswith(".py"))
PAPER = [f for f in FILES if not f.endswith("quickstart.py")]
RUN_SECTIONS = ("data", "train", "eval", "checkpoint", "sample", "leaderboard")


@pytest.mark.parametrize("name", FILES)
def test_every_config_file_validates(name):
  config_lib.validate(flowzoo.load_config(f"{CONFIGS}/{name}"))


@pytest.mark.parametrize("name", PAPER)
def test_smoke_is_the_paper_config_at_toy_size_on_the_embedded_shapes(name):
  paper = flowzoo.load_config(f"{CONFIGS}/{name}")
  smoke = flowzoo.load_config(f"{CONFIGS}/{name}:smoke")
  config_lib.validate(smoke)
  assert smoke.data.name.startswith("flowzoo_shapes/") and smoke.data.shape[:2] == (32, 32)
  assert smoke.train.steps <= 20 and smoke.train.batch_size <= 8 and not smoke.leaderboard.dir
  # The paper's switches stay: only the sizes of SMOKE_MODEL (and the classes of the
  # shapes) change, and nothing outside the model and the run's sections.
  shrunk = set(config_lib.SMOKE_MODEL[paper.model.name]) | {"num_classes"}
  assert {k: v for k, v in smoke.model.items() if k not in shrunk} == {
      k: v for k, v in paper.model.items() if k not in shrunk}
  assert {k: smoke[k] for k in smoke if k not in RUN_SECTIONS + ("model",)} == {
      k: paper[k] for k in paper if k not in RUN_SECTIONS + ("model",)}


@pytest.mark.parametrize("dataset", ["cifar10", "imagenet32", "imagenet64", "galaxy32",
                                     "animefaces", "mnist"])
def test_each_mixerflow_file_is_its_table9_column(dataset):
  for arg in ("", ":smoke"):
    assert flowzoo.load_config(f"{CONFIGS}/mixerflow_{dataset}.py{arg}").to_dict() == (
        flowzoo.load_config(f"{CONFIGS}/mixerflow_table9.py:dataset={dataset}"
                            + arg.replace(":", ",")).to_dict())


def test_siblings_load_from_any_working_directory(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  config = flowzoo.load_config(f"{CONFIGS}/glow_imagenet64.py:port")
  assert (config.model.levels, config.model.conv1x1) == (4, "lu_masked")  # its own, the base's


def test_parse_arg_follows_big_vision():
  parse = config_lib.parse_arg
  assert parse(None, row=6, smoke=False).to_dict() == {"row": 6, "smoke": False}
  assert parse("3", row=6, smoke=False).row == 3  # one bare value: the first option's
  assert parse("smoke", row=6, smoke=False).to_dict() == {"row": 6, "smoke": True}
  assert parse("row=2,smoke=false", row=6, smoke=False).to_dict() == {"row": 2, "smoke": False}
  assert parse("dataset=mnist,", dataset="cifar10").dataset == "mnist"


@pytest.mark.parametrize("arg,match", [
    ("adam,prot", "no option 'prot'; the options, with their defaults: adam=False, "
                  "port=False"),
    ("potr", "no option 'potr'"),  # a bare value is no flag's value
    ("adam=yes", "give adam \\(True\\), adam=True or adam=False"),
])
def test_a_bad_argument_names_the_options(arg, match):
  with pytest.raises(ValueError, match=match):
    config_lib.parse_arg(arg, adam=False, port=False)


def test_config_arguments_are_refused_in_the_configs_words():
  with pytest.raises(ValueError, match="row=7: choose a row of Table 4"):
    flowzoo.load_config(f"{CONFIGS}/denseflow_45_6.py:7")
  with pytest.raises(ValueError, match="must be int"):
    flowzoo.load_config(f"{CONFIGS}/denseflow_45_6.py:row=last")
  with pytest.raises(ValueError, match="choose one of Table 9's columns"):
    flowzoo.load_config(f"{CONFIGS}/mixerflow_table9.py:cifar100")
  with pytest.raises(ValueError, match="no option 'large'"):
    flowzoo.load_config(f"{CONFIGS}/glow_quickstart.py:large")
  with pytest.raises(ValueError, match="no option 'large'"):
    flowzoo.load_config(f"{CONFIGS}/quickstart.py:large")


def test_the_main_job_is_the_mixerflow_quickstart():
  assert (flowzoo.load_config(f"{CONFIGS}/quickstart.py").to_dict()
          == flowzoo.load_config(f"{CONFIGS}/mixerflow_quickstart.py").to_dict())
