"""The sections that every flowzoo config has, with their defaults and meaning.

A config file under configs/ defines get_config(arg=None) and starts from
base_config(model_name): it then sets what its paper and dataset change. Every
field can be overridden on the command line (--config.train.batch_size=64).
"""
import importlib.util
import os

import ml_collections

from flowzoo import data, models


def base_config(model_name: str) -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0  # parameters, data order and every rng of the run derive from it

  c.model = models.default_config(model_name)
  c.data = data.default_config()

  c.train = ml_collections.ConfigDict(dict(
      batch_size=64,        # global batch over all devices and processes
      steps=10_000,         # optimizer steps; the schedule decays to zero at the end
      optimizer="adam",     # 'adam', 'adamw' or 'adamax'
      lr=1e-3,              # peak learning rate
      b1=0.9,
      b2=0.999,
      eps=1e-8,
      weight_decay=0.0,     # decoupled weight decay (adamw only)
      warmup_steps=0,       # linear warmup from 0 to lr
      schedule="cosine",    # after warmup: 'cosine' decay to 0, or 'constant'
      grad_clip=5.0,        # global-norm clipping; 0 disables it
      log_every=100,        # steps between progress lines and train metrics
  ))
  c.eval = ml_collections.ConfigDict(dict(
      batch_size=256,       # global; the last batch is padded and masked
      every_steps=0,        # evaluate every N steps; 0: only after training
      at_start=False,       # also evaluate the initialised model, as a baseline
      num_samples=1,        # K: 1 reports the single-sample bound, K > 1 the IWBO
  ))
  c.checkpoint = ml_collections.ConfigDict(dict(
      every_steps=1_000,    # checkpoint every N steps, and always at the end
      keep=3,               # the last N checkpoints are kept
  ))
  c.sample = ml_collections.ConfigDict(dict(
      num=64,               # images in the sample grid written after training
      temperature=0.7,      # Glow's customary temperature for sample grids
  ))
  c.leaderboard = ml_collections.ConfigDict(dict(
      dir="runs/leaderboard",  # any etils.epath path; '' writes no record
  ))
  return c


def load_config(spec: str) -> ml_collections.ConfigDict:
  """Loads 'path/to/config.py[:arg]' as the command line does."""
  path, _, arg = spec.partition(":")
  if not os.path.exists(path):
    raise FileNotFoundError(f"no config file at {path!r}")
  spec_ = importlib.util.spec_from_file_location("_flowzoo_config", path)
  module = importlib.util.module_from_spec(spec_)
  spec_.loader.exec_module(module)
  return module.get_config(arg) if arg else module.get_config()


def validate(config):
  """Every check that can fail before compilation: model, data and trainer fields."""
  models.validate(config)
  if config.train.optimizer not in ("adam", "adamw", "adamax"):
    raise ValueError(f"config.train.optimizer={config.train.optimizer!r}: choose "
                     "'adam', 'adamw' or 'adamax'.")
  if config.train.schedule not in ("cosine", "constant"):
    raise ValueError(f"config.train.schedule={config.train.schedule!r}: choose "
                     "'cosine' or 'constant'.")
  for section, field in (("train", "steps"), ("train", "batch_size"),
                         ("eval", "batch_size"), ("eval", "num_samples"),
                         ("checkpoint", "every_steps"), ("checkpoint", "keep"),
                         ("sample", "num")):
    if config[section][field] < 1:
      raise ValueError(f"config.{section}.{field}={config[section][field]} must be at least 1.")
  if not 0 <= config.train.warmup_steps <= config.train.steps:
    raise ValueError(f"config.train.warmup_steps={config.train.warmup_steps} must lie in "
                     f"0..train.steps (={config.train.steps}).")
