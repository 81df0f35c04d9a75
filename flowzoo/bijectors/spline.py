"""Rational-quadratic spline coupling (Durkan, Bekasov, Murray, Papamakarios 2019,
"Neural Spline Flows", section 3.1 and appendix A).

Each transformed feature goes through a monotonic rational-quadratic spline of K bins
on [-B, B], the identity outside it (linear tails). The conditioner gives, per feature,
K unnormalised bin widths, K bin heights and the K - 1 derivatives at the inner knots;
the derivatives at -B and B are 1, so the spline meets the tails smoothly. That is the
paper's 3K - 1 parameters per feature.

Widths and heights are a softmax scaled to 2B; every bin keeps at least `min_bin` of
it and every derivative at least `min_derivative` (1e-3 each, as the authors' release
bayesiains/nsf), so no bin collapses and the map stays strictly increasing. The
derivatives are min_derivative + softplus(u + c) with c chosen so that u = 0 gives
exactly 1: a zero conditioner output then gives equal bins and unit slopes everywhere,
the identity map, up to rounding, which MixerFlow's identity initialisation asks for
(arXiv 2310.16777, section 4).

The inverse takes the root of the quadratic of appendix A in the form the paper gives
for it, xi = 2c / (-b - sqrt(b^2 - 4ac)), which does not cancel as (-b + sqrt(.)) / 2a
does where a is small, when b >= 0; when b < 0 that form cancels instead (a steep end
of a flat bin), and the other one does not. The discriminant is clamped at zero and xi
to the bin, so that rounding can neither leave a bin nor produce a NaN. Where the spline is nearly
flat the inverse is ill-conditioned whatever the formula; what it guarantees is that
the forward map of the inverse gives y back to rounding (tests/test_flow_layers.py).
"""
import jax
import jax.numpy as jnp
import numpy as np

from flowzoo.bijectors.base import sum_except_batch
from flowzoo.bijectors.coupling import Coupling


def _knots(raw, bound, min_bin):
  """Knot positions -B = k_0 < ... < k_K = B and bin sizes from unnormalised sizes."""
  bins = raw.shape[-1]
  sizes = min_bin + (1 - min_bin * bins) * jax.nn.softmax(raw, axis=-1)
  knots = jnp.cumsum(sizes, axis=-1)
  knots = jnp.concatenate([jnp.zeros_like(knots[..., :1]), knots], axis=-1)
  knots = 2 * bound * knots - bound
  knots = knots.at[..., 0].set(-bound).at[..., -1].set(bound)
  return knots, knots[..., 1:] - knots[..., :-1]


def _bin(knots, v):
  """The bin of each value: the last left knot at or below it, within 0..K-1."""
  index = jnp.sum(v[..., None] >= knots[..., :-1], axis=-1) - 1
  return jnp.clip(index, 0, knots.shape[-1] - 2)[..., None]


def rational_quadratic(x, params, bound, min_bin=1e-3, min_derivative=1e-3, inverse=False):
  """The spline of each element of x [..., d] given params [..., d, 3K - 1], in either
  direction: (y, elementwise log |dy/dx|) forward, (x, log |dx/dy|) inverse."""
  bins = (params.shape[-1] + 1) // 3
  raw_w, raw_h, raw_d = params[..., :bins], params[..., bins:2 * bins], params[..., 2 * bins:]
  xk, widths = _knots(raw_w, bound, min_bin)
  yk, heights = _knots(raw_h, bound, min_bin)
  shift = float(np.log(np.expm1(1 - min_derivative)))  # softplus(shift) = 1 - min_derivative
  ones = jnp.ones_like(raw_d[..., :1])
  derivs = jnp.concatenate(
      [ones, min_derivative + jax.nn.softplus(raw_d + shift), ones], axis=-1)

  inside = (x >= -bound) & (x <= bound)
  v = jnp.where(inside, x, -bound)  # tails: any point of the range, then the identity
  k = _bin(yk if inverse else xk, v)
  take = lambda a: jnp.take_along_axis(a, k, axis=-1)[..., 0]
  x0, w, y0, h = take(xk[..., :-1]), take(widths), take(yk[..., :-1]), take(heights)
  d0, d1 = take(derivs[..., :-1]), take(derivs[..., 1:])
  s = h / w
  curve = d1 + d0 - 2 * s

  if inverse:
    dy = v - y0
    a = h * (s - d0) + dy * curve
    b = h * d0 - dy * curve
    c = -s * dy
    root = jnp.sqrt(jnp.maximum(b * b - 4 * a * c, 0.0))
    # The root in the bin, as whichever of its two forms adds terms of one sign: with
    # b < 0 the first would cancel, and a >= -b > 0 there (a + b + c = s (h - dy) >= 0).
    plus = b >= 0
    xi = jnp.where(plus, 2 * c, root - b) / jnp.where(plus, -b - root, 2 * a)
    xi = jnp.clip(xi, 0.0, 1.0)
    out = x0 + xi * w
  else:
    # The bin search puts v in [x0, x0 + w]: xi in [0, 1] up to rounding, which the
    # formula tolerates; clipping would halve the derivative at the knots.
    xi = (v - x0) / w
    out = y0 + h * (s * xi**2 + d0 * xi * (1 - xi)) / (s + curve * xi * (1 - xi))
  one_minus = 1 - xi
  denom = s + curve * xi * one_minus
  log_slope = (2 * jnp.log(s) + jnp.log(d1 * xi**2 + 2 * s * xi * one_minus + d0 * one_minus**2)
               - 2 * jnp.log(denom))
  log_slope = jnp.where(inside, log_slope, 0.0)
  out = jnp.where(inside, out, x)
  return out, (-log_slope if inverse else log_slope)


class SplineCoupling(Coupling):
  """Coupling whose transformed half goes through rational-quadratic splines.

  `bins` K and `bound` B are the spline's; the conditioner gives 3K - 1 numbers per
  transformed feature, laid out [widths (K), heights (K), inner derivatives (K - 1)].
  """
  bins: int = 4      # MixerFlow's, which gives Table 8's count (arXiv 2310.16777)
  bound: float = 3.0  # the NSF release's tail_bound (bayesiains/nsf, image configs)

  def params_per_feature(self):
    return 3 * self.bins - 1

  def transform(self, x2, h, inverse):
    params = h.reshape(*x2.shape, 3 * self.bins - 1)
    y2, log_slope = rational_quadratic(x2, params, self.bound, inverse=inverse)
    return y2, sum_except_batch(log_slope)
