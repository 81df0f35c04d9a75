"""The parity fixtures of tests/data/parity: small models run by the reference codes."""
import os

import jax
import numpy as np

from flowzoo.config import load_config

DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "parity")
FILES = {"jet": "jet_big_vision_small.npz", "glow": "glow_rosinality_small.npz",
         "denseflow": "denseflow_official_small.npz",
         "tarflow": "tarflow_official_small.npz"}


def path(name):
  return os.path.join(DIR, FILES[name])


def arrays(name):
  """Every array of the fixture, by its name in the file."""
  with np.load(path(name)) as f:
    return {k: f[k] for k in f.files}


def config(name, **model):
  """The fixture's model as a flowzoo config (tests/data/parity/configs.py), with
  `model` fields changed."""
  config = load_config(os.path.join(DIR, f"configs.py:{name}"))
  config.model.update(model)
  return config


def nhwc(a):
  """A torch NCHW array in flowzoo's NHWC layout; other ranks unchanged."""
  return np.transpose(a, (0, 2, 3, 1)) if np.ndim(a) == 4 else np.asarray(a)


def nchw(a):
  return np.transpose(np.asarray(a), (0, 3, 1, 2))


def cast(tree, dtype):
  """The floating leaves of `tree` as numpy arrays of `dtype` (e.g. float64 weights)."""
  return jax.tree.map(lambda a: np.asarray(a, dtype) if np.asarray(a).dtype.kind == "f"
                      else a, tree)
