"""Glow: generative flow with invertible 1x1 convolutions (Kingma & Dhariwal 2018),
as the openai/glow release runs it, with its quirks as switches.

Top to bottom:
  1. data: x / 2^b - 1/2 plus U(0, 1/2^b) noise, so data lies in [-1/2, 1/2) and
     the discrete bound holds D * b * ln 2 nats; b = num_bits (8, or 5 for the
     CelebA-HQ style runs, where the low bits are dropped first);
  2. multi-scale architecture (section 3, after RealNVP): L levels, each a squeeze
     (2x2 space to channel), K steps of flow and, except at the last level, a
     split: half of the channels is factored out under a conditional Gaussian
     whose mean and log-std a zero-initialised 3x3 conv of the kept half gives;
  3. a step of flow (Table 1): ActNorm (data-dependent init; its log-scale is
     stored divided by 3, the release's reparameterisation) -> invertible 1x1
     convolution (plain W with a random rotation init as released, or
     LU-decomposed, starting from the LU factors of a random rotation) ->
     coupling, affine with scale sigmoid(h + 2) and shift-then-scale on the
     interleaved outputs of the network, or additive;
  4. the last level's latent under a learned top prior, a zero-initialised conv
     of zeros (spatially varying through its edge padding), or N(0, I).

The ZeroConvs (the couplings' last layer, the split and top priors) pad their input
with zeros as released, or with ones as the PyTorch port (zero_conv_pad; the port's
top prior is then spatially varying through that padding).

The factored-out latents are kept as their standardised noise, so the flow is
the bijection x -> (eps_1, ..., eps_{L-1}, z_L), its ldj is log|det| of that map,
and `inverse` reconstructs x exactly from them (flowzoo/bijectors/split.py).
The prior scores every latent; sampling with temperature T scales the noise of
the top prior and of every factored-out prior.
"""
import flax.linen as nn
import jax
import jax.numpy as jnp

from flowzoo import bijectors as fb
from flowzoo.bijectors.base import draw, float_dtype
from flowzoo.models.base import ImageFlow
from flowzoo.models.fields import (at_least, backprop_field, boolean, field, num_bits_field,
                                   one_of)
from flowzoo.nets import GlowNet, ZeroConv


class StepOfFlow(fb.Bijector):
  width: int
  coupling: str  # 'affine' or 'additive'
  conv1x1: str  # 'plain', 'lu' or 'lu_masked'
  edge_padding: bool
  net_actnorm: bool
  zero_conv_pad: float = 0.0  # what the network's ZeroConv pads with

  @nn.compact
  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    net = lambda out, name: GlowNet(
        out, self.width, self.edge_padding, self.net_actnorm, self.zero_conv_pad, name=name)
    layers = [
        fb.ActNorm(logscale_factor=3.0),  # the release's actnorm reparameterisation
        fb.Conv1x1() if self.conv1x1 == "plain" else
        fb.LULinear(use_bias=False, masked=self.conv1x1 == "lu_masked", rotation_init=True),
        fb.AffineCoupling(net, scale="sigmoid_h2" if self.coupling == "affine" else "additive",
                          interleaved=True),
    ]
    return fb.chain(layers, x, inverse, train, temperature)


class MultiScale(fb.Bijector):
  """x -> (eps_1, ..., eps_{L-1}, z_L): squeeze, K steps and split per level."""
  step: StepOfFlow
  levels: int
  steps_per_level: int
  edge_padding: bool
  backprop: str = "store"
  zero_conv_pad: float = 0.0  # what the split priors' ZeroConvs pad with

  @nn.compact
  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    prior_net = lambda out, name: ZeroConv(out, self.edge_padding,
                                           pad_value=self.zero_conv_pad, name=name)
    flows = [fb.Repeat(self.step, self.steps_per_level, backprop=self.backprop,
                       name=f"level{i}")
             for i in range(self.levels)]
    splits = [fb.Split(prior_net, keep=True, interleaved=True, name=f"split{i}")
              for i in range(self.levels - 1)]
    squeeze = fb.Squeeze()
    kw = dict(train=train, temperature=temperature)
    if not inverse:
      ldj, latents = 0.0, []
      for i in range(self.levels):
        x, _ = squeeze(x)
        x, l = flows[i](x, **kw)
        ldj = ldj + l
        if i < self.levels - 1:
          (x, eps), l = splits[i](x, **kw)
          ldj, latents = ldj + l, latents + [eps]
      return (*latents, x), ldj
    *latents, x = x
    ldj = 0.0
    for i in reversed(range(self.levels)):
      if i < self.levels - 1:
        x, l = splits[i]((x, latents[i]), inverse=True, **kw)
        ldj = ldj + l
      x, l = flows[i](x, inverse=True, **kw)
      x, _ = squeeze(x, inverse=True)
      ldj = ldj + l
    return x, ldj


def latent_shapes(shape, levels):
  """(H, W, C) of eps_1, ..., eps_{L-1} and of z_L."""
  h, w, c = shape
  eps = [(h // 2**i, w // 2**i, c * 2**i) for i in range(1, levels)]
  return (*eps, (h // 2**levels, w // 2**levels, c * 2**(levels + 1)))


class GlowPrior(nn.Module):
  """N(0, I) on every eps; the learned top prior or N(0, I) on z_L."""
  shapes: tuple
  learn_top: bool
  edge_padding: bool
  # The release convolves 2c channels of zeros into (mean, log-std); the PyTorch
  # port convolves c.
  top_zeros: int = 2
  zero_conv_pad: float = 0.0  # what the top prior's ZeroConv pads its zeros with

  def setup(self):
    if self.learn_top:
      self.top = ZeroConv(2 * self.shapes[-1][-1], self.edge_padding,
                          pad_value=self.zero_conv_pad)

  def _top(self):
    if not self.learn_top:
      return 0.0, 0.0
    h, w, c = self.shapes[-1]
    out = self.top(jnp.zeros((1, h, w, self.top_zeros * c)))
    return out[..., :c], out[..., c:]

  def log_prob(self, z):
    *eps, top = z
    mean, log_std = self._top()
    return sum(fb.normal_log_prob(e) for e in eps) + fb.normal_log_prob(top, mean, log_std)

  def sample(self, n: int, temperature: float = 1.0):
    """T * N(0, I) noise for every eps; the top latent through the top prior. The
    standard noise of latent i is the draw 'eps{i}' (given in 'draws', or drawn)."""
    noise = [temperature * draw(self, f"eps{i}", "sample", jax.random.normal, (n, *s),
                                float_dtype())
             for i, s in enumerate(self.shapes)]
    mean, log_std = self._top()
    return (*noise[:-1], mean + jnp.exp(log_std) * noise[-1])


class Glow(ImageFlow):
  """The defaults are the release's CIFAR-10 run (its README's flags)."""
  shape: tuple  # (H, W, C)
  levels: int = field(3, "L: squeeze, K steps, split per level (--n_level 3)", at_least(1))
  steps_per_level: int = field(32, "K: steps of flow per level (--depth 32)", at_least(1))
  width: int = field(512, "channels of the coupling network's hidden convs (--width)",
                     at_least(1))
  coupling: str = field("affine", "'affine' (scale sigmoid(h + 2)) or 'additive' "
                        "(--flow_coupling)", one_of(("affine", "additive")))
  conv1x1: str = field(
      "plain", "'plain' W with random rotation init (as released), 'lu' (the LU factors of "
      "a random rotation, trained: the release's switched-off LU branch), or 'lu_masked' "
      "(that LU stored as the PyTorch port stores it)", one_of(("plain", "lu", "lu_masked")))
  edge_padding: bool = field(True, "3x3 convs see a channel marking the zero padding "
                             "(released)", boolean)
  net_actnorm: bool = field(True, "ActNorm instead of biases in the coupling network "
                            "(released)", boolean)
  learn_top: bool = field(True, "learned top prior instead of N(0, I) (--learntop)", boolean)
  top_zeros: int = field(2, "the top prior convolves top_zeros * C channels of zeros: 2 as "
                         "released, 1 as the PyTorch port", one_of((2, 1)))
  num_bits: int = num_bits_field()
  backprop: str = backprop_field("store", "'invertible' covers the K steps of each level, "
                                 "the splits store")
  zero_conv_pad: float = field(
      0.0, "the value ZeroConvs (coupling output, priors) pad their input with: 0 as "
      "released, or 1 as the PyTorch port's F.pad(value=1)", one_of((0.0, 1.0)))

  @nn.nowrap
  def check_config(self):
    """Raises ValueError naming the config.model field that cannot work, and the fix."""
    h, w, _ = self.shape
    if h % 2**self.levels or w % 2**self.levels:
      raise ValueError(
          f"config.model.levels={self.levels}: every level halves the image, so "
          f"{2**self.levels} must divide H={h} and W={w} (config.data.shape); use fewer "
          "levels.")

  def setup(self):
    b = self.num_bits
    self.dequantizer = fb.keep_bits(
        b, fb.UniformDequantization(scale=1.0 / 2**b, offset=-0.5, num_bits=b))
    step = StepOfFlow(self.width, self.coupling, self.conv1x1, self.edge_padding,
                      self.net_actnorm, self.zero_conv_pad)
    self.flow = MultiScale(step, self.levels, self.steps_per_level, self.edge_padding,
                           self.backprop, self.zero_conv_pad)
    self.prior = GlowPrior(latent_shapes(self.shape, self.levels), self.learn_top,
                           self.edge_padding, self.top_zeros, self.zero_conv_pad)
