"""Property-suite cases of DenseFlow's layers (flowzoo/models/denseflow.py and the layers
it adds to flowzoo/bijectors and flowzoo/nets), with their noise fixed (given noise,
flowzoo/bijectors/base.py): the block with its noise given as draws, the dequantization
flow with a fixed context, and a tiny whole DenseFlow (one block: no squeeze-and-drop,
no augmentation). The stochastic parts themselves (the cross-unit coupling,
squeeze-and-drop, variational dequantization, sampling) are tested directly in
tests/test_denseflow.py.
"""
import functools

import flax.linen as nn
import jax.numpy as jnp
from flax.core import unfreeze

from flowzoo import bijectors as fb
from flowzoo.bijectors.augment import ScaleShiftCoupling
from flowzoo.bijectors.distributions import normal_log_prob
from flowzoo.bijectors.vardequant import DequantizationFlow, Sigmoid
from flowzoo.models import denseflow
from flowzoo.nets.dense import DenseAttentionNet, ResidualDenseNet
from tests.properties import Case

# Tiny nets: every path of the released networks, few channels.
NET = functools.partial(DenseAttentionNet, width=4, depth=1, growth=3, landmarks=4)
DEQUANT_NET = functools.partial(ResidualDenseNet, width=4, depth=1, growth=3)


class DequantizationFlowWithContext(fb.Bijector):
  """The dequantization flow given a fixed context, followed by a logit so that its
  latent is all of R^D (the suite draws latents from N(0, I))."""

  @nn.compact
  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    # Context features at the resolution of the base noise, 2 x 2.
    context = jnp.broadcast_to(jnp.linspace(-1.0, 1.0, 12).reshape(1, 2, 2, 3),
                               (x.shape[0], 2, 2, 3)).astype(x.dtype)
    flow = DequantizationFlow(DEQUANT_NET, steps=2)
    layers = [lambda v, **kw: flow(v, context=context, **kw), fb.Invert(Sigmoid())]
    return fb.chain(layers, x, inverse, train, temperature)


class BlockGivenNoise:
  """The bijective part of a DenseFlowBlock: [x, eta_1, ..., eta_{units-1}] -> z.

  Not a Flax module but its init / apply, which is all the property suite calls: the
  noise channels of the input go to the cross-unit couplings as their draws, and the
  block's forward log-det (units + cross-unit sum ln sigma - ln N(eta)) gets ln N(eta)
  back. The inverse lets the couplings record the eta they recover (a mutable 'draws'),
  so it checks the block's own inversion of the cross-unit couplings.
  """

  def __init__(self, **kw):
    self.block = denseflow.DenseFlowBlock(**kw)
    self.names = [f"cross_unit{i}" for i in range(1, self.block.units)]
    self.noise = self.block.growth_rate * len(self.names)

  def _split(self, x):
    return x[..., :x.shape[-1] - self.noise], x[..., x.shape[-1] - self.noise:]

  def init(self, rngs, x, method="forward"):
    return self.block.init(rngs, self._split(x)[0], method=method)

  def apply(self, variables, x, method="forward"):
    if method == "forward":
      x, eta = self._split(x)
      etas = jnp.split(eta, len(self.names), axis=-1)
      draws = {name: {"eta": e} for name, e in zip(self.names, etas)}
      z, ldj = self.block.apply({**variables, "draws": draws}, x, method="forward")
      return z, ldj + normal_log_prob(eta)
    (x, ldj), state = self.block.apply(variables, x, method="inverse", mutable=["draws"])
    draws = unfreeze(state)["draws"]
    eta = jnp.concatenate([draws[name]["eta"] for name in self.names], axis=-1)
    return jnp.concatenate([x, eta], axis=-1), ldj - normal_log_prob(eta)


def block(**kw):
  return functools.partial(BlockGivenNoise, units=3, modules=1, growth_rate=2,
                           coupling_net=NET, **kw)


CASES = [
    Case("df_switch_odd", denseflow.SwitchChannels, (2, 2, 2, 5)),
    Case("df_coupling_odd", lambda: ScaleShiftCoupling(NET), (3, 2, 2, 5),
         identity_at_init=True),
    Case("df_module", lambda: denseflow.GlowLikeModule(NET), (2, 2, 2, 4)),
    # [x (4 channels), eta_1, eta_2 (2 each)] -> block output of 4 + 2 * 2 channels.
    Case("df_block_given_noise", block(), (2, 2, 2, 8)),
    Case("df_dequant_flow", DequantizationFlowWithContext, (2, 2, 2, 12)),
    Case("denseflow_one_block", lambda: denseflow.DenseFlow(
        shape=(4, 4, 2), units=(1,), modules=(2,), growth_rate=2, coupling_width=4,
        dense_layers=1, dense_growth=3, dequantization="uniform"), (2, 4, 4, 2)),
]
