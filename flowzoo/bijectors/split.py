"""Factor-out under a learned conditional Gaussian (Glow's split; RealNVP multi-scale).

The last axis is cut in half: x1 is kept, x2 is factored out under
N(x2; mean(x1), exp(log_std(x1))^2), whose mean and log-std a network of x1 gives
(a zero-initialised 3x3 conv in Glow, so the factored-out prior starts as N(0, I)).

Writing the factored-out half as its standardised noise
eps = (x2 - mean) * exp(-log_std), the log-density of what is dropped is

    log N(x2; mean, std) = -sum(log_std) + log N(eps; 0, I),

and the layer has two modes that differ only in where log N(eps; 0, I) is counted:
  keep=False  the SurVAE-flows factor-out (DenseFlow's squeeze-and-drop): forward
              returns x1 and adds the whole log-density of x2; inverse draws
              eps ~ N(0, T^2 I) from the 'sample' stream.
  keep=True   Glow with exact reconstruction: forward returns (x1, eps) and adds
              -sum(log_std), the log|det| of the bijection x -> (x1, eps); the base
              density scores eps under N(0, I), so log p(x) is the same. Inverse
              takes (x1, eps): a reconstruction uses the eps that forward gave, and
              a sample draws eps from the prior with the temperature.
"""
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from flowzoo.bijectors.base import Bijector, draw
from flowzoo.bijectors.coupling import affine
from flowzoo.bijectors.distributions import normal_log_prob


class Split(Bijector):
  # prior_net(out_features) builds the network x1 [..., d1] -> [..., 2 * d2],
  # called as net(x1, train=train).
  prior_net: Callable[[int], nn.Module]
  keep: bool = True
  # (mean, log_std) at even and odd output channels, as the Glow release reads
  # its split prior; else in two halves.
  interleaved: bool = False

  def _gaussian(self, x1, d2, train):
    h = self.prior_net(2 * d2, name="prior")(x1, train=train)
    if self.interleaved:
      return h[..., 0::2], h[..., 1::2]
    return h[..., :d2], h[..., d2:]

  @nn.compact
  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    if not inverse:
      half = x.shape[-1] // 2
      x1, x2 = x[..., :half], x[..., half:]
      mean, log_std = self._gaussian(x1, x2.shape[-1], train)
      eps, ldj = affine(x2, -mean, -log_std, inverse=False)
      if self.keep:
        return (x1, eps), ldj
      return x1, ldj + normal_log_prob(eps)
    if self.keep:
      x1, eps = x
    else:
      x1 = x
      # The factored-out half is as wide as the kept one (an even number of features).
      eps = temperature * draw(self, "eps", "sample", jax.random.normal, x1.shape, x1.dtype)
    mean, log_std = self._gaussian(x1, eps.shape[-1], train)
    x2, ldj = affine(eps, -mean, -log_std, inverse=True)
    if not self.keep:
      ldj = ldj - normal_log_prob(eps)
    return jnp.concatenate([x1, x2], axis=-1), ldj
