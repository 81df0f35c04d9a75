"""Volume-preserving rearrangements: patchify, squeeze, transpose.

The patch layout is the one of Jet and of ViT patchification (arXiv 2412.15129):
tokens in row-major patch order, the features of a token ordered (row in patch,
column in patch, channel). Glow's and DenseFlow's squeeze order the new channels
(channel, row in patch, column in patch), i.e. new channel = 4c + 2dy + dx.
"""
import jax.numpy as jnp

from flowzoo.bijectors.base import Bijector


def patchify(x, ph, pw, channel_major=False):
  """[B, H, W, C] -> [B, H/ph * W/pw, ph*pw*C]."""
  b, h, w, c = x.shape
  x = x.reshape(b, h // ph, ph, w // pw, pw, c)
  order = (0, 1, 3, 5, 2, 4) if channel_major else (0, 1, 3, 2, 4, 5)
  return x.transpose(order).reshape(b, (h // ph) * (w // pw), ph * pw * c)


def unpatchify(x, h, w, ph, pw, channel_major=False):
  """Inverse of `patchify` for an image of height h and width w."""
  b, c = x.shape[0], x.shape[-1] // (ph * pw)
  if channel_major:
    x = x.reshape(b, h // ph, w // pw, c, ph, pw).transpose(0, 1, 4, 2, 5, 3)
  else:
    x = x.reshape(b, h // ph, w // pw, ph, pw, c).transpose(0, 1, 3, 2, 4, 5)
  return x.reshape(b, h, w, c)


class Patchify(Bijector):
  """Image [B, H, W, C] <-> tokens [B, (H/p)(W/p), p*p*C]."""
  patch: tuple  # (ph, pw)
  image_hw: tuple  # (H, W), needed to invert

  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    ph, pw = self.patch
    zeros = jnp.zeros((x.shape[0],), x.dtype)
    if inverse:
      return unpatchify(x, *self.image_hw, ph, pw), zeros
    return patchify(x, ph, pw), zeros


class Squeeze(Bijector):
  """Glow's 2x2 space-to-channel: [B, H, W, C] <-> [B, H/2, W/2, 4C]."""

  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    zeros = jnp.zeros((x.shape[0],), x.dtype)
    if inverse:
      b, h, w, c = x.shape
      x = unpatchify(x.reshape(b, h * w, c), 2 * h, 2 * w, 2, 2, channel_major=True)
      return x, zeros
    b, h, w, _ = x.shape
    return patchify(x, 2, 2, channel_major=True).reshape(b, h // 2, w // 2, -1), zeros


class Transpose(Bijector):
  """Swaps the two axes of a mixer matrix [B, rows, cols]."""

  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    return jnp.swapaxes(x, 1, 2), jnp.zeros((x.shape[0],), x.dtype)
