"""The registry of backbones: config.model.name -> (builder, validator).

A backbone module defines `default_config()`, `from_config(model_config, data_shape)` that returns its
Flax module and a `validate(model_config, data_shape)` that raises ValueError
naming the field and the fix, cheaply and before anything is compiled. Adding a
backbone is adding a file and a line here; nothing else in flowzoo changes.
"""
import importlib

import jax
import numpy as np

# name -> module that defines default_config, from_config and validate.
_BACKBONES = {
    "mixerflow": "flowzoo.models.mixerflow",
    "jet": "flowzoo.models.jet",
    "glow": "flowzoo.models.glow",
    "denseflow": "flowzoo.models.denseflow",
    "tarflow": "flowzoo.models.tarflow",
    "maf": "flowzoo.models.maf",
}


def names():
  return sorted(_BACKBONES)


def _backbone(name):
  if name not in _BACKBONES:
    raise ValueError(
        f"config.model.name={name!r} is not a flowzoo backbone; choose one of {names()}.")
  return importlib.import_module(_BACKBONES[name])


def default_config(name):
  """The config.model section of a backbone, with its defaults."""
  return _backbone(name).default_config()


def validate(config):
  """Checks config.model against config.data.shape; raises ValueError naming the field."""
  _backbone(config.model.name).validate(config.model, tuple(config.data.shape))


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
  validate(config)
  return _backbone(config.model.name).from_config(config.model, tuple(config.data.shape))


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
