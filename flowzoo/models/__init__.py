"""The registry of backbones: config.model.name -> the backbone's Flax module.

A backbone is a Flax module (flowzoo.models.base.ImageFlow) whose config fields are
its attributes declared with `fields.field`: their default, meaning and check
(flowzoo/models/fields.py). config.model is those fields by name, so its defaults,
its checks and the module are all derived from the class: `default_config(name)`,
`validate(config)` and `build_model(config)`, which is the module built from its
config section, `Backbone(shape=config.data.shape, **config.model)`. A check that
spans fields or needs the image shape is the module's `check_config()`. Adding a
backbone is adding a file and a line here; nothing else in flowzoo changes.
"""
import difflib
import importlib

import jax
import ml_collections
import numpy as np

from flowzoo.models.fields import config_fields

# name -> (module, class) of the backbone.
_BACKBONES = {
    "mixerflow": ("flowzoo.models.mixerflow", "MixerFlow"),
    "jet": ("flowzoo.models.jet", "Jet"),
    "glow": ("flowzoo.models.glow", "Glow"),
    "denseflow": ("flowzoo.models.denseflow", "DenseFlow"),
    "tarflow": ("flowzoo.models.tarflow", "TarFlow"),
    "maf": ("flowzoo.models.maf", "MAF"),
}


def names():
  return sorted(_BACKBONES)


def backbone(name):
  """The Flax module class of config.model.name."""
  if name not in _BACKBONES:
    raise ValueError(
        f"config.model.name={name!r} is not a flowzoo backbone; choose one of {names()}.")
  module, cls = _BACKBONES[name]
  return getattr(importlib.import_module(module), cls)


def default_config(name):
  """The config.model section of a backbone: its name and every field's default."""
  return ml_collections.ConfigDict(dict(
      name=name, **{k: f.default for k, f in config_fields(backbone(name)).items()}))


def _value(default, value):
  """A field's value as the module takes it: hashable (tuples, not lists), and a
  float where the default is one (an int in a config file stays the same number)."""
  if isinstance(value, list):
    return tuple(value)
  if isinstance(default, float) and not isinstance(value, bool):
    return float(value)
  return value


# Fields an older flowzoo had, as the config.json of its runs still holds them:
# name -> the message naming what replaced it, given the old value.
_RENAMED = {
    "remat": lambda v: (f"it is now config.model.backprop, and remat={v!r} is "
                        f"backprop={'remat' if v else 'store'!r}: set that instead, in an older "
                        "run's config.json too."),
}


def _checked_model(config):
  cls = backbone(config.model.name)
  fields = config_fields(cls)
  for key in config.model:
    if key in _RENAMED and key not in fields:
      raise ValueError(f"config.model.{key} is not a field of {cls.__name__}: "
                       + _RENAMED[key](config.model[key]))
    if key != "name" and key not in fields:
      close = difflib.get_close_matches(key, fields, n=1, cutoff=0.6)
      raise ValueError(
          f"config.model.{key} is not a field of {cls.__name__}: "
          + (f"did you mean config.model.{close[0]}?" if close
             else f"its fields are {sorted(fields)}."))
  values = {}
  for key, f in fields.items():
    value = config.model.get(key, f.default)
    f.metadata["check"](f"config.model.{key}", value)
    values[key] = _value(f.default, value)
  model = cls(shape=tuple(config.data.shape), **values)
  model.check_config()
  return model


def validate(config):
  """Checks config.model against config.data.shape; raises ValueError naming the field."""
  _checked_model(config)


COMPUTE_DTYPES = ("float32", "bfloat16")


def with_compute_dtype(model, compute_dtype):
  """`model` computing its heavy layers in `compute_dtype` (config.train.compute_dtype)
  from the same float32 parameters, its log-dets in float32. A backbone takes part by
  declaring a `compute_dtype` attribute (TarFlow does); any other stays float32 only."""
  if compute_dtype == "float32":
    return model
  if "compute_dtype" not in type(model).__dataclass_fields__:
    raise ValueError(
        f"config.train.compute_dtype={compute_dtype!r}: the {type(model).__name__} backbone "
        "computes in float32 only (mixed precision: the backbones with a compute_dtype, "
        "tarflow); set config.train.compute_dtype='float32'.")
  return model.clone(compute_dtype=compute_dtype)


def build_model(config):
  """The Flax module of config.model for images of shape config.data.shape."""
  return _checked_model(config)


# The rng streams a backbone may draw from: uniform or variational dequantization
# noise, augmentation noise, and sampling noise; and the trainer's label dropout.
RNG_STREAMS = ("dequant", "noise", "sample", "labels")


def rngs(key, *, params=False):
  """One independent key per rng stream, derived from `key`."""
  streams = (("params",) if params else ()) + RNG_STREAMS
  return {name: jax.random.fold_in(key, i) for i, name in enumerate(streams)}


def init_model(model, rng, images):
  """Variables of `model`, with data-dependent layers initialised on uint8 `images`."""
  return model.init(rngs(rng, params=True), images, method="log_prob")


def count_params(variables):
  """Trainable parameters: the leaves of the 'params' collection, as stored."""
  return int(sum(np.prod(x.shape) for x in jax.tree_util.tree_leaves(variables["params"])))


def abstract_variables(model, shape, batch=2):
  """The variables' shapes and dtypes (jax.eval_shape): nothing is allocated."""
  images = jax.ShapeDtypeStruct((batch, *shape), np.uint8)
  return jax.eval_shape(lambda x: init_model(model, jax.random.PRNGKey(0), x), images)


def count_config_params(config):
  """Trainable parameters of config's model, counted from shapes: nothing is allocated."""
  return count_params(abstract_variables(build_model(config), tuple(config.data.shape)))
