"""Variational dequantization (Ho et al. 2019, Flow++ section 3.1), as DenseFlow's release
builds it (the SurVAE-flows VariationalDequantization with DenseFlow's encoder).

Discrete x in {0, ..., 2^b - 1} becomes x_cont = (x + u) * scale + offset with u drawn
from a learned q(u | x) on (0, 1)^D rather than from U[0, 1)^D. Adding
D ln(scale) - ln q(u | x) to log p(x_cont) gives the variational bound on log P(x), so
the bpd needs no constant from any caller; with q uniform it is UniformDequantization.

q(u | x) is a conditional flow of base noise eps:
  eps ~ N(mean_c, exp(log_std_c)^2) on the squeezed shape (H/2, W/2, 4C), drawn from the
  'dequant' rng stream (or given: draws 'base/eps', the standard normal before the
  base's mean and std); `steps` x [invertible 1x1 conv, conditional affine coupling];
  a final 1x1 conv; unsqueeze; sigmoid,
every coupling conditioned on features of x in [-1, 1] from `context_net` (at H/2 x W/2).
The inverse floors to the bin, as UniformDequantization does.
"""
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from flowzoo.bijectors.augment import ScaleShiftCoupling
from flowzoo.bijectors.base import Bijector, Invert, chain, sum_except_batch
from flowzoo.bijectors.conv1x1 import Conv1x1
from flowzoo.bijectors.dequantization import UniformDequantization
from flowzoo.bijectors.distributions import ChannelNormal
from flowzoo.bijectors.reshape import Squeeze


class Sigmoid(Bijector):
  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    if inverse:
      ldj = sum_except_batch(jnp.log(x) + jnp.log1p(-x))
      return jnp.log(x) - jnp.log1p(-x), -ldj
    return jax.nn.sigmoid(x), sum_except_batch(jax.nn.log_sigmoid(x) + jax.nn.log_sigmoid(-x))


class DequantizationFlow(Bijector):
  """The bijective part of q(u | x): base noise [B, H/2, W/2, 4C] -> u in (0, 1)^[B, H, W, C]."""
  coupling_net: Callable[[int], nn.Module]  # conditioner(out)([x1, context], train=...)
  steps: int = 4

  @nn.compact
  def __call__(self, x, inverse=False, train=False, temperature=1.0, context=None):
    layers = []
    for _ in range(self.steps):
      layers += [Conv1x1(), ScaleShiftCoupling(self.coupling_net, context=context)]
    layers += [Conv1x1(), Invert(Squeeze()), Sigmoid()]
    return chain(layers, x, inverse, train, temperature)


class VariationalDequantization(Bijector):
  shape: tuple  # (H, W, C) of the images
  context_net: Callable[[], nn.Module]
  coupling_net: Callable[[int], nn.Module]
  steps: int = 4
  scale: float = 1.0 / 256
  offset: float = -0.5
  num_bits: int = 8

  def setup(self):
    h, w, c = self.shape
    self.context = self.context_net()
    self.base = ChannelNormal((h // 2, w // 2, 4 * c))
    self.flow = DequantizationFlow(self.coupling_net, self.steps)
    self.bins = UniformDequantization(self.scale, self.offset, self.num_bits)

  def posterior(self, images, eps, train: bool = False):
    """u = flow(eps | x) in (0, 1)^D and ln q(u | x), for base noise eps."""
    x = images.astype(eps.dtype)
    context = self.context(2 * x / (2**self.num_bits - 1) - 1, train=train)
    u, ldj = self.flow(eps, train=train, context=context)
    return u, self.base.log_prob(eps) - ldj

  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    if inverse:
      return self.bins(x, inverse=True)
    eps = self.base.sample(x.shape[0], stream="dequant")
    u, log_q = self.posterior(x, eps, train)
    d = int(np.prod(x.shape[1:]))
    ldj = d * np.log(self.scale) - log_q
    return (x.astype(u.dtype) + u) * self.scale + self.offset, ldj
