"""The bijector contract of flowzoo.

A bijector is a Flax Linen module whose one compact method is

    __call__(x, inverse=False, train=False, temperature=1.0) -> (y, ldj)

with `forward(x)` and `inverse(z)` as the two named directions. `ldj` has shape
[batch] and is the layer's contribution to log p(x): log|det dz/dx| for a bijection,
its negative in the inverse direction. Layers that are not bijections follow the
convention of SurVAE Flows (Nielsen et al. 2020) and add the log-density terms of
what they drop or draw.
`train` selects batch statistics over running statistics in conditioners that
normalise; `temperature` scales the noise that stochastic layers draw when they
sample, and is ignored everywhere else.

One compact `__call__` per layer (rather than two compact methods, which Linen does
not allow) keeps the parameters of both directions the same variables.

Given noise. Every random draw of a layer goes through `draw`, as a standard draw
(uniform on [0, 1) or N(0, I), before any learned scale) with a name, so a whole
evaluation can be made deterministic and compared with another code:

    _, state = model.apply(variables, images, rngs=rngs, method="log_prob",
                           mutable=["draws"])      # state["draws"]: what was drawn
    model.apply({**variables, "draws": state["draws"]}, images, method="log_prob")

The second call draws nothing: each layer reads its draw from the 'draws'
collection at its own module path (the layout the first call returns).
"""
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from flowzoo.bijectors import invertible


DRAWS = "draws"


def draw(module, name, stream, sampler, shape, dtype):
  """`module`'s draw `name`: read from the 'draws' collection when given, else
  sampler(key, shape, dtype) with a key of rng `stream`, and recorded in 'draws' when
  that collection is mutable (never at init: a checkpoint holds no noise)."""
  if module.has_variable(DRAWS, name):
    value = module.get_variable(DRAWS, name)
    if tuple(value.shape) != tuple(shape):
      where = "/".join(module.path + (name,))
      raise ValueError(f"the given draws[{where!r}] have shape {tuple(value.shape)}; this "
                       f"layer draws {tuple(shape)}.")
    return jnp.asarray(value, dtype)
  value = sampler(module.make_rng(stream), shape, dtype)
  if module.is_mutable_collection(DRAWS) and not module.is_initializing():
    module.put_variable(DRAWS, name, value)
  return value


def float_dtype():
  """float32, or float64 under jax_enable_x64: the dtype discrete data becomes."""
  return jax.dtypes.canonicalize_dtype(jnp.float64)


def sum_except_batch(x):
  return jnp.sum(x.reshape(x.shape[0], -1), axis=-1)


def batch_ldj(x, per_row_ldj):
  """Broadcasts the log-det of a map applied to every row of x to shape [batch].

  A layer that maps the last axis of x [B, ..., d] with one Jacobian J for every
  row contributes (number of rows per example) * log|det J|.
  """
  rows = 1
  for n in x.shape[1:-1]:
    rows *= n
  return jnp.full((x.shape[0],), rows * per_row_ldj, dtype=x.dtype)


class Bijector(nn.Module):
  """Base class: subclasses implement the compact `__call__` of the module docstring."""

  def forward(self, x, train: bool = False):
    return self(x, inverse=False, train=train)

  def inverse(self, z, train: bool = False, temperature: float = 1.0):
    return self(z, inverse=True, train=train, temperature=temperature)


def chain(layers, x, inverse=False, train=False, temperature=1.0):
  """Composes bijectors: in order forward, in reverse order inverse."""
  ldj = jnp.zeros((_batch_size(x),), _dtype(x))
  for layer in (reversed(layers) if inverse else layers):
    x, l = layer(x, inverse=inverse, train=train, temperature=temperature)
    ldj = ldj + l
  return x, ldj


class Chain(Bijector):
  """A composition of bijectors as one bijector."""
  layers: Sequence[Any]

  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    return chain(self.layers, x, inverse, train, temperature)


class Invert(Bijector):
  """A bijector run backwards: its forward is the inverse of `layer`."""
  layer: Any

  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    return self.layer(x, inverse=not inverse, train=train, temperature=temperature)


def _leaves(x):
  return jax.tree_util.tree_leaves(x)


def _batch_size(x):
  return _leaves(x)[0].shape[0]


def _dtype(x):
  dtype = _leaves(x)[0].dtype
  return dtype if jnp.issubdtype(dtype, jnp.floating) else jnp.float32


def _copy(step, x, inverse):
  """Runs the template layer of a step of `Repeat` as the step's child "layer", the
  path of its variables whichever way the stack runs."""
  return step.layer.clone(parent=step, name="layer")(
      x, inverse=inverse, train=step.train, temperature=step.temperature)


class _ScanStep(nn.Module):
  """One step of `Repeat`: a layer that threads (x, ldj) as the scan carry."""
  layer: Any
  inverse: bool
  train: bool
  temperature: float

  @nn.compact
  def __call__(self, carry, _):
    x, ldj = carry
    y, l = _copy(self, x, self.inverse)
    return (y, ldj + l), None


class _Step(nn.Module):
  """One step of `Repeat` in the direction it is called with (invertible backprop
  runs each step both ways)."""
  layer: Any
  train: bool
  temperature: float

  @nn.compact
  def __call__(self, x, inverse, xs):
    del xs  # the copies of a Repeat take no per-step inputs
    return _copy(self, x, inverse)


class Repeat(Bijector):
  """`length` copies of `layer` with their own parameters, as one nn.scan.

  The parameters of the copies are stacked on a leading axis, so the layer is
  traced and compiled once however deep the stack: this is what keeps compile
  times of 30-layer MixerFlows and 64-coupling Jets small.

  `backprop` is what the backward pass keeps of the forward: 'store' every
  activation (plain autodiff); 'remat' each copy's input, recomputing the rest;
  'invertible' nothing but the stack's output, recomputing each copy's input with
  its inverse (flowzoo/bijectors/invertible.py), so that activation memory does not
  grow with `length`. 'invertible' needs deterministic bijections and holds in both
  directions.
  """
  layer: Any  # an unbound module used as a template
  length: int
  backprop: str = "store"

  @nn.compact
  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    backprop = self.backprop
    if backprop not in invertible.BACKPROPS:
      raise ValueError(f"Repeat.backprop is {backprop!r}; choose one of "
                       f"{invertible.BACKPROPS}.")
    ldj = jnp.zeros((_batch_size(x),), _dtype(x))
    if backprop == "invertible" and not self.is_initializing():
      # Init runs the plain scan below, so data-dependent initialisers see the data.
      steps = invertible.scan(_Step, self.length, inverse)
      return steps(self.layer, train, temperature, name="steps")(x, ldj)
    step = nn.remat(_ScanStep) if backprop == "remat" else _ScanStep
    scan = nn.scan(
        step,
        variable_axes={"params": 0, "batch_stats": 0, "consts": 0},
        split_rngs={"params": True, "dequant": True, "sample": True, "noise": True},
        length=self.length,
        reverse=inverse)
    (x, ldj), _ = scan(self.layer, inverse, train, temperature, name="steps")(
        (x, ldj), None)
    return x, ldj
