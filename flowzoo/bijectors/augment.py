"""Augmentation with conditioned noise: DenseFlow's cross-unit coupling (Grcic et al.,
NeurIPS 2021, section 2.1), in the SurVAE-flows convention of DESIGN.md.

Cross-unit coupling widens a latent z by `channels` channels of noise,

    z_aug = [z, mu + sigma * eta],   eta ~ N(0, I),   (mu, sigma) = g(earlier latents),

and adds E_eta[ -ln N(eta) + sum ln sigma ] to the bound on ln p(z) (equation 9). It is
two layers here, so that the bijective part can be checked on its own:
  Augment   draws eta from the 'noise' rng stream (or given: draws 'eta'), concatenates
            it and adds -ln N(eta);
            its inverse drops the channels (sampling needs no g);
  Coupling  the affine map eta -> mu + sigma * eta given the context (`num_condition`
            = the width of z, `sees_condition=False`): a bijection with log|det| =
            sum ln sigma.
`Coupling` is also DenseFlow's intra-module coupling and the conditional coupling of
its dequantization flow: all three share the release's update
z2 = x2 * exp(2 tanh(h / 2)) + shift (scale, then shift), computed through
flowzoo's `affine` and `log_scale`.
"""
from typing import Callable, Optional

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


class Coupling(Bijector):
  """Affine coupling over the last axis with DenseFlow's update.

  The first `num_condition` features (ceil(C / 2) by default, as torch.chunk splits)
  pass unchanged; `conditioner(out_features)` maps [x1, context] (or only the
  context when `sees_condition` is False) to the parameters of the rest, read
  interleaved as (raw scale, shift) at (even, odd) positions, or in two halves
  (shift, raw scale) as the release's cross-unit coupling reads them.
  """
  conditioner: Callable[[int], nn.Module]
  num_condition: Optional[int] = None
  sees_condition: bool = True
  interleaved: bool = True

  @nn.compact
  def __call__(self, x, inverse=False, train=False, temperature=1.0, context=None):
    d1 = (x.shape[-1] + 1) // 2 if self.num_condition is None else self.num_condition
    x1, x2 = x[..., :d1], x[..., d1:]
    inputs = [x1] if self.sees_condition else []
    if context is not None:
      inputs.append(context.astype(x.dtype))
    h = self.conditioner(2 * x2.shape[-1], name="conditioner")(
        jnp.concatenate(inputs, axis=-1), train=train)
    if self.interleaved:
      raw, shift = h[..., 0::2], h[..., 1::2]
    else:
      shift, raw = jnp.split(h, 2, axis=-1)
    y2, ldj = scale_then_shift(x2, shift, raw, inverse)
    return jnp.concatenate([x1, y2], axis=-1), ldj


class Augment(Bijector):
  """[B, ..., C] -> [B, ..., C + channels] with N(0, I) noise; ldj = -ln N(eta).

  Stochastic: the forward direction draws from the 'noise' rng stream. The inverse
  drops the noise channels, the left inverse of forward, and adds nothing.
  """
  channels: int

  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    if inverse:
      return x[..., :x.shape[-1] - self.channels], jnp.zeros((x.shape[0],), x.dtype)
    eta = draw(self, "eta", "noise", jax.random.normal, (*x.shape[:-1], self.channels), x.dtype)
    return jnp.concatenate([x, eta], axis=-1), -normal_log_prob(eta)
