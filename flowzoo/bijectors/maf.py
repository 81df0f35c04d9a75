"""Masked autoregressive layer (Papamakarios, Pavlakou, Murray 2017, "Masked
Autoregressive Flow for Density Estimation", section 3.1).

Over the last axis of d features, z_i = (x_i + shift_i(x_<i)) * scale_i(x_<i), with
shift and scale from one MADE (Germain et al. 2015) on x: the density direction is one
pass of the network, and the log-det is the sum of the log-scales (the Jacobian is
triangular). The shift-then-scale update and the scale functions are the coupling's
(flowzoo/bijectors/coupling.py), so a zero network output is the identity.

The inverse is sequential, as MAF's sampling is: x_i needs x_<i. It runs as one
nn.scan (one jax.lax.scan) of d steps, each of which evaluates the network on the
current x and recomputes every feature from z; step t fixes feature t for good, since
feature t depends only on the t - 1 features already fixed. The last step's network
output is the one at the final x, so it also gives the log-det: d network passes in all.

`reverse` runs the layer on the features in reverse order: the MAF release
(gpapamak/maf, mafs.py) reverses the order from one MADE to the next.
"""
from typing import Callable

import flax.linen as nn
import jax.numpy as jnp

from flowzoo.bijectors.base import Bijector
from flowzoo.bijectors.coupling import affine, log_scale


class MaskedAutoregressive(Bijector):
  """`conditioner(out_features)` builds a MADE-masked network (flowzoo/nets/made.py)
  whose output j depends only on the features before feature j mod d; its 2d outputs
  are read as (shift, raw scale) in two halves."""
  conditioner: Callable[[int], nn.Module]
  scale: str = "exp_clamp"
  clamp: float = 2.0
  reverse: bool = False

  @nn.compact
  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    if self.reverse:
      x = x[..., ::-1]
    net = self.conditioner(2 * x.shape[-1], name="conditioner")
    scale, clamp = self.scale, self.clamp

    def update(net, x, source, inverse):
      shift, raw = jnp.split(net(x, train=train), 2, axis=-1)
      return affine(source, shift, log_scale(raw, scale, clamp), inverse)

    if not inverse:
      y, ldj = update(net, x, x, inverse=False)
    else:
      z = x
      if self.is_initializing():  # the scan below reads the network's variables
        net(z, train=train)
      scan = nn.scan(lambda net, carry, _: (update(net, carry[0], z, inverse=True), None),
                     variable_broadcast=True, split_rngs={"params": False},
                     length=z.shape[-1])
      (y, ldj), _ = scan(net, (jnp.zeros_like(z), jnp.zeros(z.shape[:1], z.dtype)), None)
    if self.reverse:
      y = y[..., ::-1]
    return y, ldj
