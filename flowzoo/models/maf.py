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
from flowzoo.nets import MADE


class MAF(ImageFlow):
  shape: tuple  # (H, W, C)
  num_mades: int = 5
  hidden: Sequence[int] = (1024, 1024)
  scale: str = "exp_clamp"
  num_bits: int = 8

  def setup(self):
    h, w, _ = self.shape
    # Data in [-1/2, 1/2) as Glow: bins of width 1/2^b.
    self.dequantizer = fb.UniformDequantization(
        scale=1.0 / 2**self.num_bits, offset=-0.5, num_bits=self.num_bits)
    made = functools.partial(MADE, hidden=tuple(self.hidden))
    layers = []
    for k in range(self.num_mades):
      layers += [fb.MaskedAutoregressive(made, scale=self.scale, reverse=k % 2 == 1),
                 fb.ActNorm()]
    flatten = fb.Patchify((h, w), (h, w))  # one token of all H*W*C features
    self.flow = fb.Chain([flatten, *layers, fb.Invert(flatten)])
    self.prior = fb.StandardNormal(self.shape)


def from_config(cfg, shape):
  return MAF(shape=shape, num_mades=cfg.num_mades, hidden=tuple(cfg.hidden),
             scale=cfg.scale, num_bits=cfg.num_bits)


def validate(cfg, shape):
  """Raises ValueError naming the config.model field that cannot work, and the fix."""
  if cfg.num_mades < 1:
    raise ValueError(f"config.model.num_mades={cfg.num_mades} must be at least 1.")
  hidden = tuple(cfg.hidden)
  if not hidden or any(not isinstance(n, int) or n < 1 for n in hidden):
    raise ValueError(f"config.model.hidden={cfg.hidden!r} must be a non-empty tuple of "
                     "positive layer widths, e.g. (1024, 1024).")
  if cfg.scale not in fb.SCALES:
    raise ValueError(f"config.model.scale={cfg.scale!r}: choose one of {fb.SCALES}.")
  if cfg.num_bits < 1:
    raise ValueError(f"config.model.num_bits={cfg.num_bits} must be at least 1.")


def default_config():
  """config.model of MAF; the defaults are the MAF paper's MNIST model, MAF (5)."""
  import ml_collections
  return ml_collections.ConfigDict(dict(
      name="maf",
      num_mades=5,          # masked autoregressive layers ("MAF (5)", MAF section 4)
      hidden=(1024, 1024),  # widths of each MADE's ReLU layers (MAF release, MNIST)
      scale="exp_clamp",    # scale function, see flowzoo/bijectors/coupling.py
      num_bits=8,           # bits per pixel of the data
  ))
