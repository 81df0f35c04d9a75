"""Invertible linear maps over the last axis.

LU-decomposed linear layer (Glow section 3.2, as used by MixerFlow's linear block,
arXiv 2310.16777 section 4): W = P L U with a fixed permutation P, unit lower
triangular L and upper triangular U whose diagonal is exp(logdiag). MixerFlow's
RLU takes P as the reversal of the features. L, U and the log-diagonal are stored
packed in one d x d matrix, so the layer has d^2 + d trainable parameters with its
bias, and it starts as the identity (all zeros) as MixerFlow's identity
initialisation asks. With `rotation_init` it starts instead as a random rotation,
factored once at init into W = P L U, as the LU variant of the openai/glow release
starts: P and the signs of U's diagonal are then frozen (the 'consts' collection)
and L, U and log|diag U| are trained.
"""
import flax.linen as nn
import jax
import jax.numpy as jnp

from flowzoo.bijectors.base import Bijector, batch_ldj

HIGHEST = jax.lax.Precision.HIGHEST


def _lu(packed, sign):
  d = packed.shape[0]
  lower = jnp.tril(packed, -1) + jnp.eye(d, dtype=packed.dtype)
  upper = jnp.triu(packed, 1) + jnp.diag(sign * jnp.exp(jnp.diag(packed)))
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
  rotation_init: bool = False

  @nn.compact
  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    d = x.shape[-1]
    zeros = jnp.zeros((d, d), x.dtype)
    start = dict(permutation=jnp.eye(d, dtype=x.dtype), lower=zeros, upper=zeros,
                 logdiag=jnp.zeros((d,), x.dtype), sign=jnp.ones((d,), x.dtype))
    # Flax also evaluates param initialisers abstractly in apply, to check shapes, so
    # `start` always exists; only Module.init draws the rotation.
    if self.rotation_init and self.is_initializing():
      w = nn.initializers.orthogonal()(self.make_rng("params"), (d, d), x.dtype)
      p, l, u = jax.scipy.linalg.lu(w)
      start = dict(permutation=p, lower=l, upper=u, logdiag=jnp.log(jnp.abs(jnp.diag(u))),
                   sign=jnp.sign(jnp.diag(u)))
    if self.masked:
      packed = (jnp.tril(self.param("lower", lambda _: start["lower"]), -1)
                + jnp.triu(self.param("upper", lambda _: start["upper"]), 1)
                + jnp.diag(self.param("logdiag", lambda _: start["logdiag"])))
    else:
      packed = self.param("lu", lambda _: (jnp.tril(start["lower"], -1)
                                           + jnp.triu(start["upper"], 1)
                                           + jnp.diag(start["logdiag"])))
    frozen = lambda name: self.variable("consts", name, lambda: start[name]).value
    sign, permutation = ((frozen("sign"), frozen("permutation")) if self.rotation_init
                         else (1.0, None))
    bias = (self.param("bias", nn.initializers.zeros, (d,), x.dtype)
            if self.use_bias else jnp.zeros((d,), x.dtype))
    lower, upper = _lu(packed, sign)
    ldj = batch_ldj(x, jnp.sum(jnp.diag(packed)))
    if not inverse:
      if self.reverse:
        x = x[..., ::-1]
      w = permutation @ lower @ upper if self.rotation_init else lower @ upper
      z = jnp.einsum("...j,ij->...i", x, w, precision=HIGHEST)
      return z + bias, ldj
    # W^-1 = U^-1 L^-1 P^T from two triangular solves of the d x d identity, then one
    # product with the rows: solving for the B*N rows directly costs about four times the
    # forward on CPU, and invertible backprop runs this inverse once per layer per step.
    eye = jnp.eye(d, dtype=x.dtype)
    w_inv = jax.scipy.linalg.solve_triangular(
        upper, jax.scipy.linalg.solve_triangular(lower, eye, lower=True, unit_diagonal=True),
        lower=False)
    if self.rotation_init:
      w_inv = jnp.matmul(w_inv, permutation.T, precision=HIGHEST)
    x = jnp.einsum("...j,ij->...i", x - bias, w_inv, precision=HIGHEST)
    if self.reverse:
      x = x[..., ::-1]
    return x, -ldj
