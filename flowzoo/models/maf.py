"""MAF on the flattened image (Papamakarios, Pavlakou, Murray 2017, "Masked
Autoregressive Flow for Density Estimation", sections 3 and 4): the "MAF" row of
MixerFlow's Table 3 (arXiv 2310.16777: MNIST 1.89, CIFAR-10 4.31 bpd), the baseline
that MixerFlow's MAF flow layer improves on.

  1. uniform dequantization into [-1/2, 1/2), as flowzoo's other backbones;
  2. the image flattened to one vector of H*W*C features, pixels in raster order with
     their channels together;
  3. `num_mades` masked autoregressive layers (flowzoo/bijectors/maf.py), each
     conditioned by a MADE of ReLU layers of widths `hidden` (flowzoo/nets/made.py),
     the order reversed from one to the next, each followed by a normalisation.

Where flowzoo departs from the paper, on purpose: the paper's images are modelled in
logit space (its section 4), flowzoo's in pixel space, as every flowzoo backbone,
with the dequantization charging the same bins; MAF normalises with batch norm between
its MADEs, flowzoo with ActNorm (Glow section 3.1), which is initialised from the
first batch and then computes the same map in training and evaluation; and the scale
of each layer is a soft-clamped exp, bounded by e^2 per layer, where the paper's is an
unbounded exp.
"""
import functools
from typing import Sequence

from flowzoo import bijectors as fb
from flowzoo.models.base import ImageFlow
from flowzoo.models.fields import at_least, field, num_bits_field, one_of, sequence_of
from flowzoo.nets import MADE


class MAF(ImageFlow):
  """The defaults are the MAF paper's MNIST model, MAF (5)."""
  shape: tuple  # (H, W, C)
  num_mades: int = field(5, "masked autoregressive layers (\"MAF (5)\", MAF section 4)",
                         at_least(1))
  hidden: Sequence[int] = field((1024, 1024), "widths of each MADE's ReLU layers (MAF "
                                "release, MNIST)", sequence_of(at_least(1)))
  scale: str = field("exp_clamp", "scale function, see flowzoo/bijectors/coupling.py",
                     one_of(fb.SCALES))
  num_bits: int = num_bits_field()

  def setup(self):
    h, w, _ = self.shape
    # Data in [-1/2, 1/2) as Glow: bins of width 1/2^b.
    b = self.num_bits
    self.dequantizer = fb.keep_bits(
        b, fb.UniformDequantization(scale=1.0 / 2**b, offset=-0.5, num_bits=b))
    made = functools.partial(MADE, hidden=tuple(self.hidden))
    layers = []
    for k in range(self.num_mades):
      layers += [fb.MaskedAutoregressive(made, scale=self.scale, reverse=k % 2 == 1),
                 fb.ActNorm()]
    flatten = fb.Patchify((h, w), (h, w))  # one token of all H*W*C features
    self.flow = fb.Chain([flatten, *layers, fb.Invert(flatten)])
    self.prior = fb.StandardNormal(self.shape)
