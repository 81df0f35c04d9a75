"""DenseFlow's two couplings (Grcic, Grubisic, Segvic; NeurIPS 2021), both with the release's
update z2 = x2 * exp(2 tanh(h / 2)) + shift (scale, then shift), computed through flowzoo's
`affine` and `log_scale`.

  ScaleShiftCoupling  the intra-module coupling of the glow-like modules (Fig. 2) and,
                      given a context, the conditional coupling of the dequantization flow;
  CrossUnitCoupling   incremental augmentation with conditioned noise (section 2.1): widens
                      a latent z by `channels` channels,

                          z_aug = [z, mu + sigma * eta],  eta ~ N(0, I),  (mu, sigma) = g(z_<i),

                      and adds -ln N(eta) + sum ln sigma to the bound on ln p(z) (equation 9),
                      in the SurVAE-flows convention of flowzoo/bijectors/base.py.
"""
from typing import Any, Callable, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp

from flowzoo.bijectors.base import Bijector, draw
from flowzoo.bijectors.coupling import affine, log_scale
from flowzoo.bijectors.distributions import normal_log_prob


def scale_then_shift(x, shift, raw, inverse):
  """x * exp(2 tanh(raw / 2)) + shift and its log-det, in either direction."""
  logs = log_scale(raw, "exp_clamp", 2.0)
  # (x + shift * e^-s) * e^s is the same map written as flowzoo's shift-then-scale.
  return affine(x, shift * jnp.exp(-logs), logs, inverse)


class ScaleShiftCoupling(Bijector):
  """Affine coupling over the last axis with DenseFlow's scale-then-shift update.

  The first ceil(C / 2) features (as torch.chunk splits) pass unchanged;
  `conditioner(out_features)` maps [x1, context] to the parameters of the rest, read
  interleaved as (raw scale, shift) at (even, odd) positions, as the release's
  ElementwiseParams2d(2, mode='sequential') reads them. `context` (the dequantization
  flow's features of the image, at the resolution of x) is bound when the layer is
  built, so that the layer composes through fb.chain like any other.
  """
  conditioner: Callable[[int], nn.Module]
  context: Optional[Any] = None

  @nn.compact
  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    d1 = (x.shape[-1] + 1) // 2
    x1, x2 = x[..., :d1], x[..., d1:]
    inputs = x1
    if self.context is not None:
      inputs = jnp.concatenate([x1, self.context.astype(x.dtype)], axis=-1)
    h = self.conditioner(2 * x2.shape[-1], name="conditioner")(inputs, train=train)
    y2, ldj = scale_then_shift(x2, h[..., 1::2], h[..., 0::2], inverse)
    return jnp.concatenate([x1, y2], axis=-1), ldj


class CrossUnitCoupling(Bijector):
  """[B, ..., C] -> [B, ..., C + channels]: z -> [z, mu + sigma * eta].

  `conditioner(out_features)` is g: it reads the earlier latents z_<i (`context`), and
  its output is read in two halves (mu, raw scale), the release's chunk(2). Without g
  (None) the noise is white, mu = 0 and sigma = 1 (Table 4's unconditioned ablation).
  eta is drawn from the 'noise' rng stream, or given: draws 'eta'.

  The inverse drops the widened channels, the left inverse of forward; sampling needs
  no g. Given the context while the 'draws' collection is mutable, it also recovers
  eta, records it as the draw and returns minus the forward's log-det, so that forward
  given those draws reproduces its input exactly.
  """
  channels: int
  conditioner: Optional[Callable[[int], nn.Module]] = None

  @nn.compact
  def __call__(self, x, inverse=False, train=False, temperature=1.0, context=None):
    if inverse:
      c = x.shape[-1] - self.channels
      z, widened = x[..., :c], x[..., c:]
      if context is None or not self.is_mutable_collection("draws"):
        return z, jnp.zeros((x.shape[0],), x.dtype)  # sampling: g is never evaluated
      eta, ldj = self._noise(widened, context, inverse, train)
      self.put_variable("draws", "eta", eta)
      return z, ldj + normal_log_prob(eta)
    eta = draw(self, "eta", "noise", jax.random.normal, (*x.shape[:-1], self.channels), x.dtype)
    widened, ldj = self._noise(eta, context, inverse, train)
    return jnp.concatenate([x, widened], axis=-1), ldj - normal_log_prob(eta)

  def _noise(self, eta, context, inverse, train):
    """eta -> mu + sigma * eta given the context (or back), and its log-det."""
    if self.conditioner is None:
      return eta, 0.0
    h = self.conditioner(2 * self.channels, name="conditioner")(
        context.astype(eta.dtype), train=train)
    mu, raw = jnp.split(h, 2, axis=-1)
    return scale_then_shift(eta, mu, raw, inverse)
