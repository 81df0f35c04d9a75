"""Invertible 1x1 convolution with a plain weight matrix (Glow section 3.2).

z = W x on every pixel, W a c x c matrix initialised as a random rotation (a random
orthogonal matrix, so log|det W| = 0 at init), as the openai/glow release runs it.
log|det| and the inverse come from one pivoted LU factorisation of W (slogdet and
lu_solve) rather than from det(W) and inv(W), which lose precision when W drifts
towards singular. The LU-parameterised variant is LULinear over the channel axis.
"""
import flax.linen as nn
import jax
import jax.numpy as jnp

from flowzoo.bijectors.base import Bijector, batch_ldj

HIGHEST = jax.lax.Precision.HIGHEST


class Conv1x1(Bijector):

  @nn.compact
  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    d = x.shape[-1]
    w = self.param("kernel", nn.initializers.orthogonal(), (d, d), x.dtype)
    lu, pivots = jax.scipy.linalg.lu_factor(w)
    ldj = batch_ldj(x, jnp.sum(jnp.log(jnp.abs(jnp.diag(lu)))))
    if not inverse:
      return jnp.einsum("...j,ij->...i", x, w, precision=HIGHEST), ldj
    rows = jax.scipy.linalg.lu_solve((lu, pivots), x.reshape(-1, d).T)
    return rows.T.reshape(x.shape), -ldj
