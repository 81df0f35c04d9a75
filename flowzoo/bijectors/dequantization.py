"""Uniform dequantization as the first layer of every image model.

Discrete x in {0, ..., 2^b - 1} becomes x_cont = (x + u) * scale + offset with
u ~ U[0, 1)^D drawn from the 'dequant' rng stream (or given: draws 'u'). The map from x + u to x_cont has
log|det| = D ln(scale); adding it to log p(x_cont) gives the variational lower bound
on log P(x) (Theis et al. 2016), so that

    bpd = -log_prob(x) / (D ln 2) = (-log p(x_cont) - D ln(scale)) / (D ln 2),

with every constant kept and no caller adding any. Glow scales with 1/2^b and offset
-1/2; Jet with 1/127.5 and offset -1 (so one bin is 1/127.5 wide, not 2/256: the
two differ by log2(256/255) = 0.0056 bpd). The inverse rounds down to the bin and
clips to the valid range; it is the left inverse of forward on integer images.

Fewer bits. A backbone's `num_bits` b < 8 keeps the top b bits of the 8-bit data
(`DropBits`, as openai/glow's --n_bits_x) and dequantizes the
2^b levels that remain, so its bound holds D b ln 2 nats less than an 8-bit one
on the same scale: `keep_bits`.
"""
import jax
import jax.numpy as jnp
import numpy as np

from flowzoo.bijectors.base import Bijector, Chain, draw, float_dtype


class UniformDequantization(Bijector):
  scale: float = 1.0 / 256
  offset: float = -0.5
  num_bits: int = 8

  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    d = int(np.prod(x.shape[1:]))
    dtype = x.dtype if inverse else float_dtype()
    ldj = jnp.full((x.shape[0],), d * np.log(self.scale), dtype)
    if inverse:
      bins = jnp.floor((x - self.offset) / self.scale)
      return jnp.clip(bins, 0, 2**self.num_bits - 1).astype(jnp.uint8), -ldj
    u = draw(self, "u", "dequant", jax.random.uniform, x.shape, dtype)
    return (x.astype(dtype) + u) * self.scale + self.offset, ldj


class DropBits(Bijector):
  """8-bit images -> their top num_bits bits; the inverse puts them back as the high
  bits, the low ones zero (openai/glow's preprocess and postprocess)."""
  num_bits: int

  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    zeros = jnp.zeros((x.shape[0],), jnp.float32)
    drop = 2 ** (8 - self.num_bits)
    if inverse:
      return (x.astype(jnp.int32) * drop).astype(jnp.uint8), zeros
    return x // drop, zeros


def keep_bits(num_bits, dequantizer):
  """`dequantizer`, of num_bits-bit images, after dropping the low 8 - num_bits bits of
  the 8-bit data; at 8 bits the dequantizer alone, its parameters and draws unmoved."""
  return dequantizer if num_bits == 8 else Chain([DropBits(num_bits), dequantizer])
