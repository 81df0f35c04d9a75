"""ActNorm (Kingma & Dhariwal 2018, Glow section 3.1).

A per-feature affine map z = (x + bias) * exp(logscale) over the last axis, whose
parameters are initialised from the first batch so that the output has zero mean
and unit variance per feature. The statistics are over every other axis of the
batch it is given; under jit with a batch sharded over devices that is the global
batch. The initialisation happens only inside `Module.init`: a restored checkpoint
brings its own values and nothing recomputes them.

`logscale_factor` stores logscale / factor, so that the optimiser moves the log
scale factor-times faster: the openai/glow release uses 3 (its actnorm's
logscale_factor), which changes training, not the map.
"""
import flax.linen as nn
import jax.numpy as jnp

from flowzoo.bijectors.base import Bijector, batch_ldj


class ActNorm(Bijector):
  eps: float = 1e-6
  logscale_factor: float = 1.0

  @nn.compact
  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    axes = tuple(range(x.ndim - 1))
    bias = self.param("bias", lambda _: -jnp.mean(x, axis=axes))
    logscale = self.logscale_factor * self.param(
        "logscale",
        lambda _: -jnp.log(jnp.std(x, axis=axes) + self.eps) / self.logscale_factor)
    ldj = batch_ldj(x, jnp.sum(logscale))
    if inverse:
      return x * jnp.exp(-logscale) - bias, -ldj
    return (x + bias) * jnp.exp(logscale), ldj
