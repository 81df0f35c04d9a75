"""The bijector contract of flowzoo (DESIGN.md, "The bijector contract").

A bijector is a Flax Linen module whose one compact method is

    __call__(x, inverse=False, train=False, temperature=1.0) -> (y, ldj)

with `forward(x)` and `inverse(z)` as the two named directions. `ldj` has shape
[batch] and is the layer's contribution to log p(x): log|det dz/dx| for a bijection,
its negative in the inverse direction. Layers that are not bijections follow the
SurVAE-flows convention and add the log-density terms of what they drop or draw.
`train` selects batch statistics over running statistics in conditioners that
normalise; `temperature` scales the noise that stochastic layers draw when they
sample, and is ignored everywhere else.

One compact `__call__` per layer (rather than two compact methods, which Linen does
not allow) keeps the parameters of both directions the same variables.
"""
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


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


class _ScanStep(nn.Module):
  """One step of `Repeat`: a layer that threads (x, ldj) as the scan carry."""
  layer: Any
  inverse: bool
  train: bool
  temperature: float

  @nn.compact
  def __call__(self, carry, _):
    x, ldj = carry
    y, l = self.layer.clone(parent=self, name="layer")(
        x, inverse=self.inverse, train=self.train, temperature=self.temperature)
    return (y, ldj + l), None


class Repeat(Bijector):
  """`length` copies of `layer` with their own parameters, as one nn.scan.

  The parameters of the copies are stacked on a leading axis, so the layer is
  traced and compiled once however deep the stack: this is what keeps compile
  times of 30-layer MixerFlows and 64-coupling Jets small. `remat` recomputes
  activations in the backward pass instead of storing them.
  """
  layer: Any  # an unbound module used as a template
  length: int
  remat: bool = False

  @nn.compact
  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    step = nn.remat(_ScanStep) if self.remat else _ScanStep
    scan = nn.scan(
        step,
        variable_axes={"params": 0, "batch_stats": 0, "consts": 0},
        split_rngs={"params": True, "dequant": True, "sample": True, "noise": True},
        length=self.length,
        reverse=inverse)
    ldj = jnp.zeros((_batch_size(x),), _dtype(x))
    (x, ldj), _ = scan(self.layer, inverse, train, temperature, name="steps")(
        (x, ldj), None)
    return x, ldj
