"""Invertible linear maps over the last axis.

LU-decomposed linear layer (Glow section 3.2, as used by MixerFlow's linear block,
arXiv 2310.16777 section 4): W = P L U with a fixed permutation P, unit lower
triangular L and upper triangular U whose diagonal is exp(logdiag). MixerFlow's
RLU takes P as the reversal of the features. L, U and the log-diagonal are stored
packed in one d x d matrix, so the layer has d^2 + d trainable parameters with its
bias, and it starts as the identity (all zeros) as MixerFlow's identity
initialisation asks.
"""
import flax.linen as nn
import jax
import jax.numpy as jnp

from flowzoo.bijectors.base import Bijector, batch_ldj

HIGHEST = jax.lax.Precision.HIGHEST


def _lu(packed):
  d = packed.shape[0]
  lower = jnp.tril(packed, -1) + jnp.eye(d, dtype=packed.dtype)
  upper = jnp.triu(packed, 1) + jnp.diag(jnp.exp(jnp.diag(packed)))
  return lower, upper


class LULinear(Bijector):
  """z = W x + b on every row, W = P L U; `reverse` makes P the reversal (RLU).

  `masked` stores L and U as whole d x d matrices whose unused halves are masked
  out, plus the log-diagonal: the same map with 2d^2 + d stored numbers, as the
  PyTorch port of Glow (rosinality/glow-pytorch) stores it, so that its parameter
  count and checkpoints can be matched.
  """
  reverse: bool = False
  use_bias: bool = True
  masked: bool = False

  @nn.compact
  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    d = x.shape[-1]
    zeros = nn.initializers.zeros
    if self.masked:
      packed = (jnp.tril(self.param("lower", zeros, (d, d), x.dtype), -1)
                + jnp.triu(self.param("upper", zeros, (d, d), x.dtype), 1)
                + jnp.diag(self.param("logdiag", zeros, (d,), x.dtype)))
    else:
      packed = self.param("lu", zeros, (d, d), x.dtype)
    bias = (self.param("bias", zeros, (d,), x.dtype)
            if self.use_bias else jnp.zeros((d,), x.dtype))
    lower, upper = _lu(packed)
    ldj = batch_ldj(x, jnp.sum(jnp.diag(packed)))
    if not inverse:
      if self.reverse:
        x = x[..., ::-1]
      z = jnp.einsum("...j,ij->...i", x, lower @ upper, precision=HIGHEST)
      return z + bias, ldj
    rows = (x - bias).reshape(-1, d).T
    rows = jax.scipy.linalg.solve_triangular(lower, rows, lower=True, unit_diagonal=True)
    rows = jax.scipy.linalg.solve_triangular(upper, rows, lower=False)
    x = rows.T.reshape(x.shape)
    if self.reverse:
      x = x[..., ::-1]
    return x, -ldj
