"""DenseFlow: densely connected normalizing flows (Grcic, Grubisic, Segvic; NeurIPS 2021),
as the authors' release (github.com/matejgrcic/DenseFlow) builds DenseFlow-74-10.

Top to bottom (section 2.3 and the release):
  1. variational dequantization: u ~ q(u | x) from a conditional flow (Flow++), data
     (x + u) / 256 - 1/2 in [-1/2, 1/2], adding -ln q(u | x) and -D ln 256
     (flowzoo/bijectors/vardequant.py); 'uniform' replaces q by U[0, 1)^D;
  2. a 2x2 squeeze (new channel = 4c + 2dy + dx);
  3. DenseFlow blocks separated by squeeze-and-drop: squeeze, keep the first half of
     the channels and score the other half under N(0, I);
  4. a block is a sequence of units; before every unit but the first, cross-unit
     coupling concatenates `growth_rate` channels of noise mu + sigma * eta whose
     (mu, sigma) a network g computes from the block input and the outputs of the
     earlier units (flowzoo/bijectors/augment.py);
  5. a unit is a sequence of glow-like modules: ActNorm -> invertible 1x1 conv
     (orthogonal init) -> intra-module affine coupling -> channel switch;
  6. the intra-module coupling network projects to `coupling_width` channels and fuses a
     dense block with Nystrom self-attention (flowzoo/nets/dense.py);
  7. a learned per-channel normal base on the last latent.

Cross-unit coupling, in the release's indexing: before unit i (i >= 1), g sees the block
input and the outputs of units 0..i-2, not the output of unit i-1 that it widens; this
is equation 6 of the paper, g_i(z_<i) for z_i^aug = [z_i, sigma * e_i + mu].

The likelihood is a lower bound (dequantization and augmentation noise): log_prob is a
single-sample bound, and flowzoo/evaluate.py reports the importance-weighted bound with
config.eval.num_samples samples, 1000 for CIFAR-10 and 200 for ImageNet as the paper.
"""
import functools
from typing import Callable

import flax.linen as nn
import jax.numpy as jnp

from flowzoo import bijectors as fb
from flowzoo.bijectors.augment import CrossUnitCoupling, ScaleShiftCoupling
from flowzoo.bijectors.vardequant import VariationalDequantization
from flowzoo.models.base import ImageFlow
from flowzoo.models.fields import (at_least, backprop_field, boolean, field, num_bits_field,
                                   one_of, sequence_of)
from flowzoo.nets import GlowNet
from flowzoo.nets.dense import (DenseAttentionNet, DequantizationContext, NoiseNet,
                                ResidualDenseNet)


class SwitchChannels(fb.Bijector):
  """[x1, x2] -> [x2, x1] with x1 the first ceil(C / 2) channels, the coupling's condition."""

  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    c = x.shape[-1]
    d = c // 2 if inverse else (c + 1) // 2
    return jnp.concatenate([x[..., d:], x[..., :d]], axis=-1), jnp.zeros((x.shape[0],), x.dtype)


class GlowLikeModule(fb.Bijector):
  """ActNorm -> invertible 1x1 conv -> intra-module coupling -> channel switch (Fig. 2)."""
  coupling_net: Callable[[int], nn.Module]

  @nn.compact
  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    layers = [fb.ActNorm(), fb.Conv1x1(), ScaleShiftCoupling(self.coupling_net), SwitchChannels()]
    return fb.chain(layers, x, inverse, train, temperature)


class DenseFlowBlock(fb.Bijector):
  """Unit 0, then for every later unit i its cross-unit coupling and the unit (Fig. 3).

  Each unit is `modules` glow-like modules. The cross-unit coupling before unit i
  widens the output of unit i-1 by `growth_rate` channels of noise whose (mu, sigma) g
  computes from z_<i: the block input and the outputs of units 0..i-2, concatenated on
  channels as a dense block concatenates its features.

  Inverse, every unit and then the coupling before it drops the widened channels, so
  sampling never evaluates g. When the 'draws' collection is mutable the couplings then
  recover their noise given z_<i, which only the inverse of the later units gives (see
  CrossUnitCoupling; the property suite checks the block this way,
  tests/cases_denseflow.py).
  """
  units: int
  modules: int
  growth_rate: int  # 0: no augmentation
  coupling_net: Callable[[int], nn.Module]
  conditioned_noise: bool = True
  backprop: str = "store"  # of the units; the cross-unit couplings draw noise and store

  @nn.compact
  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    kw = dict(train=train, temperature=temperature)
    units = [fb.Repeat(GlowLikeModule(self.coupling_net), self.modules,
                       backprop=self.backprop, name=f"unit{i}") for i in range(self.units)]
    if not self.growth_rate:
      return fb.chain(units, x, inverse, **kw)
    g = NoiseNet if self.conditioned_noise else None
    couplings = [CrossUnitCoupling(self.growth_rate, g, name=f"cross_unit{i}")
                 for i in range(1, self.units)]

    if not inverse:
      z, ldj = units[0](x, **kw)
      earlier = x  # z_<i
      for coupling, unit in zip(couplings, units[1:]):
        z_aug, l_aug = coupling(z, context=earlier, **kw)
        earlier = jnp.concatenate([earlier, z], axis=-1)
        z, l = unit(z_aug, **kw)
        ldj = ldj + l_aug + l
      return z, ldj

    ldj, widened = jnp.zeros((x.shape[0],), x.dtype), []
    for coupling, unit in reversed(list(zip(couplings, units[1:]))):
      x, l = unit(x, inverse=True, **kw)
      widened.insert(0, x)
      x, l_aug = coupling(x, inverse=True, **kw)
      ldj = ldj + l + l_aug
    x, l = units[0](x, inverse=True, **kw)
    ldj = ldj + l
    if self.is_mutable_collection("draws"):
      earlier = x
      for coupling, z_aug in zip(couplings, widened):
        z, l_aug = coupling(z_aug, inverse=True, context=earlier, **kw)
        earlier = jnp.concatenate([earlier, z], axis=-1)
        ldj = ldj + l_aug
    return x, ldj


class _StandardNormalParams(nn.Module):
  """(mean, log-std) = 0 for the dropped half: squeeze-and-drop scores it under N(0, I)."""
  out_features: int

  def __call__(self, x, train: bool = False):
    return jnp.zeros((*x.shape[:-1], self.out_features), x.dtype)


def squeeze_and_drop():
  """Squeeze, keep the first half of the channels, score the rest under N(0, I)."""
  return fb.Chain([fb.Squeeze(), fb.Split(_StandardNormalParams, keep=False)])


class DenseFlow(ImageFlow):
  """The defaults are DenseFlow-74-10 (paper section 3.1)."""
  shape: tuple  # (H, W, C)
  units: tuple = field((6, 4, 1), "DenseFlow units per block (section 3.1)",
                       sequence_of(at_least(1)))
  modules: tuple = field((5, 6, 20), "glow-like modules per unit, per block (section 3.1)",
                         sequence_of(at_least(1)))
  growth_rate: int = field(10, "noise channels each cross-unit coupling adds (section 3.1)",
                           at_least(0))
  coupling_width: int = field(48, "intra-module projection width (section 3.1); the hidden "
                              "width of Glow's network when coupling_net='glow'", at_least(2))
  dense_layers: int = field(7, "densely connected layers of the coupling's dense block (3.1)",
                            at_least(1))
  dense_growth: int = field(64, "channels each dense layer adds (release)", at_least(1))
  landmarks: int = field(4, "Nystrom landmarks of the single attention head (release)",
                         at_least(1))
  dequantization: str = field("variational", "'variational' (Flow++ encoder, release) or "
                              "'uniform'", one_of(("variational", "uniform")))
  augmentation: bool = field(True, "Table 4 column 1: False gives a plain flow of the same "
                             "modules", boolean)
  conditioned_noise: bool = field(True, "Table 4 column 2: False concatenates white noise "
                                  "N(0, I)", boolean)
  coupling_net: str = field("dense_attention", "Table 4 column 3: 'glow' is Glow's coupling "
                            "network", one_of(("dense_attention", "glow")))
  # q(u | x) of variational dequantization, hard-coded in the release's
  # experiments/image/model/dequantization.py (DequantizationFlow):
  dequant_width: int = field(64, "its num_context = mid_channels: context and coupling-net "
                             "width", at_least(1))
  dequant_depth: int = field(4, "dense layers of each coupling net's dense block (depth)",
                             at_least(1))
  dequant_growth: int = field(64, "channels each of those layers adds (growth)", at_least(1))
  unbiased_running_var: bool = field(
      True, "BatchNorm of the coupling nets: the running variance follows the unbiased batch "
      "variance as torch's BatchNorm2d in the release; False: the biased one, as flax",
      boolean)
  num_bits: int = num_bits_field()
  backprop: str = backprop_field(
      "store", "'invertible' covers the glow-like modules within each unit; the cross-unit "
      "couplings and variational dequantization draw noise and store")

  @nn.nowrap
  def check_config(self):
    """Raises ValueError naming the config.model field that cannot work, and the fix."""
    h, w, _ = self.shape
    units, modules = self.units, self.modules
    if len(units) != len(modules):
      raise ValueError(f"config.model.units={units} and config.model.modules={modules} must "
                       "name the same number of blocks, e.g. (6, 4, 1) and (5, 6, 20).")
    s = 2 ** len(units)
    if h % s or w % s:
      raise ValueError(f"config.model.units={units}: the first squeeze and every "
                       f"squeeze-and-drop halve the image, so {s} must divide H={h} and "
                       f"W={w} (config.data.shape); use fewer blocks.")
    if self.augmentation and self.growth_rate < 1:
      raise ValueError(f"config.model.growth_rate={self.growth_rate} must be at least 1 with "
                       "augmentation; set config.model.augmentation=False for none.")
    if self.coupling_width % 2:
      raise ValueError(f"config.model.coupling_width={self.coupling_width} must be even (the "
                       "attention embeds to half of it).")
    if self.coupling_net == "dense_attention":
      for i in range(len(units)):
        tokens = (h // 2 ** (i + 1)) * (w // 2 ** (i + 1))
        if tokens % self.landmarks:
          raise ValueError(f"config.model.landmarks={self.landmarks} must divide the "
                           f"{tokens} positions of block {i}; choose a divisor, e.g. 4 or 1.")

  def setup(self):
    h, w, c = self.shape
    b = self.num_bits
    if self.dequantization == "variational":
      # The release's DequantizationFlow: the context net is DenseBlock(3 -> width),
      # a 2x2 stride-2 conv and DenseBlock(width -> width), each of depth 4, growth 16;
      # every coupling's net is DenseNet(width, dequant_depth, dequant_growth).
      dequantizer = VariationalDequantization(
          self.shape, functools.partial(DequantizationContext, features=self.dequant_width),
          functools.partial(ResidualDenseNet, width=self.dequant_width,
                            depth=self.dequant_depth, growth=self.dequant_growth),
          scale=1.0 / 2**b, offset=-0.5, num_bits=b)
    else:
      dequantizer = fb.UniformDequantization(scale=1.0 / 2**b, offset=-0.5, num_bits=b)
    self.dequantizer = fb.keep_bits(b, dequantizer)
    if self.coupling_net == "glow":
      net = functools.partial(GlowNet, width=self.coupling_width)
    else:
      net = functools.partial(DenseAttentionNet, width=self.coupling_width,
                              depth=self.dense_layers, growth=self.dense_growth,
                              landmarks=self.landmarks,
                              unbiased_running_var=self.unbiased_running_var)
    growth = self.growth_rate if self.augmentation else 0
    layers, channels = [fb.Squeeze()], 4 * c
    for i, (units, modules) in enumerate(zip(self.units, self.modules)):
      layers.append(DenseFlowBlock(units, modules, growth, net, self.conditioned_noise,
                                   backprop=self.backprop))
      channels += (units - 1) * growth
      if i < len(self.units) - 1:
        layers.append(squeeze_and_drop())
        channels *= 2
    self.flow = fb.Chain(layers)
    s = 2 ** len(self.units)
    self.prior = fb.ChannelNormal((h // s, w // s, channels))

