"""MADE: masked networks whose outputs are autoregressive in their inputs
(Germain, Gregor, Murray, Larochelle 2015).

Every input feature i (1..d, in order) and every hidden unit has a degree; a weight
from a unit of degree m to one of degree m' exists only when m' >= m between hidden
layers and m' > m into an output. Output j belongs to feature (j mod d) + 1, so a
network with out_features = n * d gives n numbers per feature (MAF's shift and scale:
n = 2), each a function of the features before it only. Hidden degrees are assigned
cyclically, 1, 2, ..., d - 1, 1, 2, ..., as the MAF release's 'sequential' mode
(gpapamak/maf) does, rather than drawn at random as in Germain et al.: every width
then gives the same network on every run, and a width of d - 1 or more lets every
output see every feature before it.

The masks are constant and multiply the kernels of ordinary nn.Dense layers (through
their `dot_general`), so a masked network has the same parameters, and the same
names, as the unmasked one: flowzoo/nets/resmlp.py with `made=True` is MixerFlow's
residual MLP as a MADE.
"""
import functools
from typing import Sequence

import flax.linen as nn
import jax
import numpy as np


def input_degrees(d):
  return np.arange(1, d + 1)


def hidden_degrees(d, width):
  return np.arange(width) % max(1, d - 1) + min(1, d - 1)


def output_degrees(d, out_features):
  return np.arange(out_features) % d + 1


def mask(degrees_in, degrees_out, strict=False):
  """[in, out]: the connections a MADE allows; `strict` into its outputs."""
  if strict:
    return degrees_out[None, :] > degrees_in[:, None]
  return degrees_out[None, :] >= degrees_in[:, None]


def residual_masks(d, width, out_features):
  """The masks of the residual MLP [in -> hidden, hidden -> hidden (twice), hidden -> out]:
  its hidden units share one set of degrees, so the residual sum keeps the ordering."""
  m = hidden_degrees(d, width)
  return (mask(input_degrees(d), m), mask(m, m), mask(m, m),
          mask(m, output_degrees(d, out_features), strict=True))


def _masked_dot_general(lhs, rhs, dimension_numbers, precision=None, keep=None, **kw):
  return jax.lax.dot_general(lhs, rhs * keep.astype(rhs.dtype), dimension_numbers,
                             precision=precision, **kw)


def masked(keep):
  """The `dot_general` of an nn.Dense whose kernel is multiplied by the mask `keep`."""
  return functools.partial(_masked_dot_general, keep=keep)


class MADE(nn.Module):
  """Germain et al.'s MADE as MAF stacks it (Papamakarios, Pavlakou, Murray 2017,
  section 3): masked dense layers of widths `hidden` with ReLU. Its output layer starts
  at zero, flowzoo's choice, so that the layer it conditions starts as the identity."""
  out_features: int
  hidden: Sequence[int] = (1024, 1024)

  @nn.compact
  def __call__(self, x, train: bool = False):
    d = x.shape[-1]
    degrees = input_degrees(d)
    for width in self.hidden:
      m = hidden_degrees(d, width)
      x = nn.relu(nn.Dense(width, dot_general=masked(mask(degrees, m)))(x))
      degrees = m
    out = mask(degrees, output_degrees(d, self.out_features), strict=True)
    return nn.Dense(self.out_features, kernel_init=nn.initializers.zeros,
                    dot_general=masked(out))(x)
