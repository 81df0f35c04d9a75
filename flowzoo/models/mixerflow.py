"""MixerFlow: MLP-Mixer meets normalising flows (English, Kirchler, Lippert; arXiv 2310.16777).

Section 4 of the paper, top to bottom:
  1. a 1x1 convolution over RGB (here an LU-decomposed 3x3 map with bias);
  2. the image split into non-overlapping p x p patches, flattened into the
     mixer matrix of n_p rows (patches) and c = p*p*3 columns (channels);
  3. mixer layers, each a channel-mixing flow on every row followed by a
     patch-mixing flow on every column, the same flow for every row (column);
  4. every flow is ActNorm, then `flow_layers` times [linear block (LU or RLU),
     flow layer, ActNorm]: ActNorm after every flow layer and before the first
     linear block after each transpose. The flow layer is an affine coupling with a
     residual-MLP conditioner, or one of the paper's alternatives (sections 5.3 and
     5.6, Table 8): a masked autoregressive layer (MAF) whose MADE is that residual
     MLP with masks, a rational-quadratic spline coupling with that conditioner, or
     an affine coupling with a KAN conditioner;
  5. every `shift_every`-th mixer layer is a shift layer: the mixer matrix goes
     back to the image, a frame is carved out leaving the inner part
     (s : h - p + s, s : w - p + s), the inner part is made into a shifted mixer
     matrix, a full mixer layer acts on it, and the frame is put back.
Identity initialisation (section 4): linear blocks start as the identity and the
last layers of the conditioners at zero.

Couplings alternate which half of a row conditions. On an odd row length this
alternates 24/25 and 25/24 splits; that is the accounting which comes to 11,358,342
parameters for CIFAR-10 and 18,901,062 for ImageNet64, the 11.34M and 18.90M of the
paper's Tables 1 and 2.
"""
import dataclasses
import functools

import flax.linen as nn

from flowzoo import bijectors as fb
from flowzoo.models.base import ImageFlow, check_patch_size
from flowzoo.models.fields import (at_least, backprop_field, field, num_bits_field, one_of,
                                   positive)
from flowzoo.nets import KAN, ResMLP

FLOW_LAYERS = ("affine", "spline", "kan", "maf")


@dataclasses.dataclass(frozen=True)
class FlowLayer:
  """What each flow layer of a mixing flow is, and its settings."""
  kind: str = "affine"   # one of FLOW_LAYERS
  spline_bins: int = 4
  spline_bound: float = 3.0
  kan_grid: int = 5
  kan_order: int = 3

  def make(self, hidden, scale, k):
    """The k-th flow layer of a mixing flow, whose affine maps use `scale`; odd k swap
    the halves of a coupling and reverse the order of an autoregressive layer."""
    net = functools.partial(ResMLP, hidden=hidden)
    if self.kind == "maf":
      return fb.MaskedAutoregressive(functools.partial(net, made=True), scale=scale,
                                     reverse=k % 2 == 1)
    if self.kind == "spline":
      return fb.SplineCoupling(net, flip=k % 2 == 1, bins=self.spline_bins,
                               bound=self.spline_bound)
    if self.kind == "kan":
      net = functools.partial(KAN, hidden=hidden, grid=self.kan_grid, order=self.kan_order)
    return fb.AffineCoupling(net, scale=scale, flip=k % 2 == 1)


class MixingFlow(fb.Bijector):
  """One channel- or patch-mixing flow over the last axis of the mixer matrix."""
  hidden: int
  linear: str  # 'lu', 'rlu' or 'none' (the ablation's basic model, Table 10)
  flow_layers: int
  scale: str
  layer: FlowLayer = FlowLayer()

  @nn.compact
  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    layers = [fb.ActNorm()]
    for k in range(self.flow_layers):
      if self.linear != "none":
        layers.append(fb.LULinear(reverse=self.linear == "rlu"))
      layers.append(self.layer.make(self.hidden, self.scale, k))
      layers.append(fb.ActNorm())
    # Every layer maps each row of the matrix alike, so they run on the [B*rows, d] rows,
    # as one 2-D matrix for XLA's dots, and their log-dets are summed per example once.
    y, ldj = fb.chain(layers, x.reshape(-1, x.shape[-1]), inverse, train, temperature)
    return y.reshape(x.shape), ldj.reshape(x.shape[0], -1).sum(-1)


class MixerLayer(fb.Bijector):
  """Channel mixing on the rows, then patch mixing on the columns."""
  hidden: int
  linear: str
  flow_layers: int
  scale: str
  layer: FlowLayer = FlowLayer()

  @nn.compact
  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    flow = functools.partial(MixingFlow, self.hidden, self.linear, self.flow_layers,
                             self.scale, self.layer)
    layers = [flow(name="channel_mixing"), fb.Transpose(),
              flow(name="patch_mixing"), fb.Transpose()]
    return fb.chain(layers, x, inverse, train, temperature)


class ShiftLayer(fb.Bijector):
  """A mixer layer on the patches of the image shifted by `shift` pixels."""
  layer: MixerLayer
  image_hw: tuple
  patch: int
  shift: int

  @nn.compact
  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    (h, w), p, s = self.image_hw, self.patch, self.shift
    image = fb.unpatchify(x, h, w, p, p)
    inner = fb.patchify(image[:, s:h - p + s, s:w - p + s], p, p)
    inner, ldj = self.layer.clone(parent=self, name="mixer")(
        inner, inverse=inverse, train=train, temperature=temperature)
    image = image.at[:, s:h - p + s, s:w - p + s].set(
        fb.unpatchify(inner, h - p, w - p, p, p))
    return fb.patchify(image, p, p), ldj


class MixerFlow(ImageFlow):
  """The defaults are the paper's CIFAR-10 model (Table 9)."""
  shape: tuple  # (H, W, C)
  patch_size: int = field(4, "p: the mixer matrix has (H/p)(W/p) rows of p*p*C channels",
                          at_least(1))
  num_layers: int = field(30, "mixer layers, shift layers included (appendix A)", at_least(1))
  hidden: int = field(128, "width of the residual-MLP conditioners", at_least(1))
  shift: int = field(1, "shift of the shift layers in pixels; 0 for none", at_least(0))
  shift_every: int = field(4, "every shift_every-th mixer layer is a shift layer", at_least(1))
  linear: str = field("lu", "linear block: 'lu', 'rlu' (reversal then LU) or 'none'",
                      one_of(("lu", "rlu", "none")))
  flow_layers: int = field(4, "[linear block, flow layer, ActNorm] per mixing flow "
                           "(appendix A)", at_least(1))
  # The paper names no scale function beyond "traditionally an exponential function"
  # (appendix D); soft-clamped exp is one, and the identity at zero as the paper's identity
  # initialisation (section 4) asks. Its bound, e^2 per coupling, compounds over depth: on
  # natural-photo crops a 6-layer model diverged with it by step 17 (issue 10), which is why
  # configs/mixerflow_quickstart.py takes Jet's sigmoid2 (<= 2, the identity at zero) instead.
  scale: str = field("exp_clamp", "coupling scale function, see flowzoo/bijectors/coupling.py",
                     one_of(fb.SCALES))
  flow_layer: str = field(
      "affine", "the flow layer after each linear block (sections 5.3, 5.6): 'affine' "
      "coupling, 'spline' (rational-quadratic spline coupling), 'kan' (affine coupling with "
      "a KAN conditioner) or 'maf' (masked autoregressive layer, a MADE-masked residual MLP)",
      one_of(FLOW_LAYERS))
  spline_bins: int = field(4, "K, bins of the splines ('spline'); 4 gives Table 8's 5.28M",
                           at_least(1))
  spline_bound: float = field(3.0, "B: splines on [-B, B], the identity outside ('spline')",
                              positive)
  kan_grid: int = field(5, "G, grid intervals of the KAN's B-splines ('kan'; pykan's layer)",
                        at_least(1))
  kan_order: int = field(3, "k, their order ('kan'; KAN, Liu et al. 2024, section 2.2)",
                         at_least(1))
  num_bits: int = num_bits_field()
  # 'remat' by default: on CIFAR-10's 30 layers (batch 32, 2-core CPU) it took the train
  # step from 6.5-7.5 s to 3.2 s and XLA's temporaries from 4215 MiB to 43 MiB, since
  # storing makes nn.scan copy every layer's activations into stacked buffers.
  backprop: str = backprop_field("remat", "'invertible' covers every mixer layer")

  @nn.nowrap
  def check_config(self):
    """Raises ValueError naming the config.model field that cannot work, and the fix."""
    h, w, c = self.shape
    p = self.patch_size
    check_patch_size(p, self.shape)
    if (h // p) * (w // p) < 2 or p * p * c < 2:
      raise ValueError(f"config.model.patch_size={p} leaves fewer than 2 patches or "
                       "features to couple; choose a smaller patch size.")
    if not self.shift:
      return
    if self.shift >= p:
      raise ValueError(f"config.model.shift={self.shift} must lie in 1..patch_size-1 "
                       f"(={p - 1}), or be 0 for no shift layers.")
    if self.shift_every > self.num_layers:
      raise ValueError(f"config.model.shift_every={self.shift_every} must lie in "
                       f"1..num_layers (={self.num_layers}).")
    if ((h - p) // p) * ((w - p) // p) < 2:
      raise ValueError(f"config.model.shift={self.shift}: the shifted mixer matrix of a "
                       f"{h}x{w} image with patch {p} has fewer than 2 patches; use "
                       "shift=0 or a smaller patch size.")

  def setup(self):
    h, w, _ = self.shape
    p = self.patch_size
    # Data in [-1/2, 1/2) as Glow: bins of width 1/2^b.
    b = self.num_bits
    self.dequantizer = fb.keep_bits(
        b, fb.UniformDequantization(scale=1.0 / 2**b, offset=-0.5, num_bits=b))
    flow_layer = FlowLayer(self.flow_layer, self.spline_bins, self.spline_bound,
                           self.kan_grid, self.kan_order)
    layer = MixerLayer(self.hidden, self.linear, self.flow_layers, self.scale, flow_layer)
    if self.shift:
      # Within a period the layers recompute from their inputs ('remat') whenever the
      # stack of periods saves memory: 'invertible' within 'invertible' would run each
      # layer's forward once more (30 layers, batch 32: 3.9 s/step and 248 GFLOP against
      # 3.0 s and 220 GFLOP), and storing them holds a period's activations (421 MiB).
      inner = "store" if self.backprop == "store" else "remat"
      period = fb.Chain([
          fb.Repeat(layer, self.shift_every - 1, backprop=inner),
          ShiftLayer(layer, (h, w), p, self.shift)])
      runs = [(period, self.num_layers // self.shift_every),
              (layer, self.num_layers % self.shift_every)]
    else:
      runs = [(layer, self.num_layers)]
    mixer = [fb.Repeat(unit, n, backprop=self.backprop) for unit, n in runs if n]
    patches = fb.Patchify((p, p), (h, w))
    self.flow = fb.Chain([fb.LULinear(), patches, *mixer, fb.Invert(patches)])
    self.prior = fb.StandardNormal(self.shape)
