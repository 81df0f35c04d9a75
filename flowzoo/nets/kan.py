"""Kolmogorov-Arnold networks (Liu, Wang, Vaidya, Ruehle, Halverson, Soljacic, Hou,
Tegmark 2024, "KAN: Kolmogorov-Arnold Networks", section 2.2).

A KAN layer puts a learnable function on every edge and sums at the nodes:
y_o = sum_i phi_io(x_i), phi(x) = w_b silu(x) + w_s sum_j c_j B_j(x), with B_j the
B-splines of order k on a grid of G intervals over `grid_range`, extended by k knots on
either side so that all G + k of them are whole on the range. So an edge has G + k + 2
parameters (c_j, w_b, w_s): 10 with G = 5, k = 3, the release's layer defaults
(KindXiaoming/pykan, KANLayer; the paper's k is 3). Initialisation
as section 2.2: w_s = 1, c_j ~ N(0, 0.1^2) so that spline(x) starts near 0, w_b by
Xavier; a zero-initialised layer (w_b = c_j = 0) outputs zeros, so the coupling it
conditions starts as the identity, as MixerFlow's identity initialisation asks
(arXiv 2310.16777, section 4). Inputs outside the range see only w_b silu(x): the
paper's grid updates from the activations (section 2.2) are a training step flowzoo
does not run.
"""
from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp


def bspline_basis(x, grid: int, order: int, grid_range: Sequence[float]):
  """[..., grid + order]: the B-splines of `order` on the extended uniform grid at x
  (Cox-de Boor recursion)."""
  lo, hi = grid_range
  step = (hi - lo) / grid
  knots = lo + step * jnp.arange(-order, grid + order + 1, dtype=x.dtype)
  x = x[..., None]
  basis = ((x >= knots[:-1]) & (x < knots[1:])).astype(x.dtype)
  for p in range(1, order + 1):
    left = (x - knots[:-(p + 1)]) / (p * step) * basis[..., :-1]
    right = (knots[p + 1:] - x) / (p * step) * basis[..., 1:]
    basis = left + right
  return basis


class KANLayer(nn.Module):
  features: int
  grid: int = 5
  order: int = 3
  grid_range: Sequence[float] = (-1.0, 1.0)
  zero_init: bool = False

  @nn.compact
  def __call__(self, x):
    d, n = x.shape[-1], self.grid + self.order
    zero = nn.initializers.zeros
    w_base = self.param("base", zero if self.zero_init else nn.initializers.xavier_uniform(),
                        (d, self.features))
    w_spline = self.param("spline_scale", nn.initializers.ones, (d, self.features))
    coef = self.param("coef", zero if self.zero_init else nn.initializers.normal(0.1),
                      (d, self.features, n))
    basis = bspline_basis(x, self.grid, self.order, self.grid_range)
    return (jnp.einsum("...i,io->...o", nn.silu(x), w_base)
            + jnp.einsum("...ij,ioj->...o", basis, w_spline[..., None] * coef))


class KAN(nn.Module):
  """The conditioner [in, hidden, out] of MixerFlow's KAN coupling (arXiv 2310.16777,
  Table 8: "KANs instead of MLPs in standard coupling layers"), its last layer zero."""
  out_features: int
  hidden: int = 64
  grid: int = 5
  order: int = 3

  @nn.compact
  def __call__(self, x, train: bool = False):
    h = KANLayer(self.hidden, self.grid, self.order)(x)
    return KANLayer(self.out_features, self.grid, self.order, zero_init=True)(h)
