"""Affine coupling (Dinh et al. 2017, RealNVP; Glow section 3.3).

The last axis is split at d//2. One half conditions, the other is transformed:
y2 = (x2 + shift(x1)) * scale(x1), shift then scale as in Glow and Jet. `Coupling`
is the structure every coupling shares; the rational-quadratic spline coupling
(flowzoo/bijectors/spline.py) is the other map it carries.

The squashing of the raw scale h is a choice of each paper:
  'sigmoid_h2' scale = sigmoid(h + 2)        Glow (Kingma & Dhariwal 2018, openai release)
  'sigmoid2'   scale = 2 sigmoid(h)          Jet (arXiv 2412.15129, section 3)
  'exp_clamp'  scale = exp(c tanh(h / c))    soft-clamped exp; c = 2 is DenseFlow's exp(2 tanh(h/2))
  'additive'   scale = 1                     NICE / Glow's additive coupling
All but 'sigmoid_h2' are the identity when the conditioner outputs zeros. Only
'sigmoid_h2' and 'additive' never expand: with 'exp_clamp' an input the conditioner has
not seen can be multiplied by up to e^c in every coupling, e^(c n) through n of them
(issue 10: a quickstart MixerFlow on natural photos reached 1e8 bpd by step 17 this way).
"""
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from flowzoo.bijectors.base import Bijector, sum_except_batch

SCALES = ("sigmoid_h2", "sigmoid2", "exp_clamp", "additive")


def log_scale(h, kind: str, clamp: float = 2.0):
  if kind == "sigmoid_h2":
    return jax.nn.log_sigmoid(h + 2.0)
  if kind == "sigmoid2":
    return jax.nn.log_sigmoid(h) + jnp.log(2.0).astype(h.dtype)
  if kind == "exp_clamp":
    return clamp * jnp.tanh(h / clamp)
  if kind == "additive":
    return jnp.zeros_like(h)
  raise ValueError(f"unknown coupling scale {kind!r}; choose one of {SCALES}")


def affine(x2, shift, logs, inverse):
  """The shift-then-scale update and its log-det, in either direction."""
  ldj = sum_except_batch(logs)
  if inverse:
    return x2 * jnp.exp(-logs) - shift, -ldj
  return (x2 + shift) * jnp.exp(logs), ldj


class Coupling(Bijector):
  """What every coupling over the last axis shares: the split at d//2, the conditioner
  on one half, an elementwise map of the other half that it parameterises, and the
  concatenation. `flip` swaps the roles of the halves, so alternating couplings
  transform every feature.

  `conditioner(out_features)` builds the network that maps the conditioning half
  [..., d1] to [..., params_per_feature() * d2]; it is called as net(x1, train=train).
  A subclass says how many parameters each transformed feature takes and how they
  map it (`transform`), and nothing else.
  """
  conditioner: Callable[[int], nn.Module]
  flip: bool = False

  def params_per_feature(self) -> int:
    raise NotImplementedError

  def transform(self, x2, h, inverse):
    """(y2, ldj) of the elementwise map of x2 that the conditioner's output h gives."""
    raise NotImplementedError

  @nn.compact
  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    half = x.shape[-1] // 2
    xa, xb = x[..., :half], x[..., half:]
    x1, x2 = (xb, xa) if self.flip else (xa, xb)
    h = self.conditioner(self.params_per_feature() * x2.shape[-1], name="conditioner")(
        x1, train=train)
    y2, ldj = self.transform(x2, h, inverse)
    y = (y2, x1) if self.flip else (x1, y2)
    return jnp.concatenate(y, axis=-1), ldj


class AffineCoupling(Coupling):
  """Affine coupling: the conditioner's output is read as (shift, raw scale) either in
  two halves or interleaved (shift at even, scale at odd positions, as the Glow
  release reads its last convolution); additive couplings read the shift only.
  """
  scale: str = "sigmoid2"
  clamp: float = 2.0
  interleaved: bool = False

  def params_per_feature(self):
    return 1 if self.scale == "additive" else 2

  def transform(self, x2, h, inverse):
    if self.scale == "additive":
      shift, raw = h, jnp.zeros_like(h)
    elif self.interleaved:
      shift, raw = h[..., 0::2], h[..., 1::2]
    else:
      shift, raw = jnp.split(h, 2, axis=-1)
    return affine(x2, shift, log_scale(raw, self.scale, self.clamp), inverse)
