"""What every backbone is: a flow over discrete images.

A backbone defines, in `setup`, three parts that the methods here compose:
  self.dequantizer  discrete images -> continuous data (its ldj holds the bin width)
  self.flow         continuous data -> latent, a bijector (DESIGN.md contract)
  self.prior        the base density of the latent, with log_prob and sample
so that log_prob(x) = prior.log_prob(z) + ldj(flow) + ldj(dequantizer) is a lower
bound on log P(x) in nats, and bpd = -log_prob / (D ln 2) with nothing to add.
"""
import flax.linen as nn
import jax.numpy as jnp
import numpy as np


class ImageFlow(nn.Module):

  def forward(self, x, train: bool = False):
    return self.flow(x, inverse=False, train=train)

  def inverse(self, z, train: bool = False, temperature: float = 1.0):
    return self.flow(z, inverse=True, train=train, temperature=temperature)

  def log_prob(self, images, train: bool = False):
    x, ldj_dequant = self.dequantizer(images, train=train)
    z, ldj = self.flow(x, train=train)
    return self.prior.log_prob(z) + ldj + ldj_dequant

  def sample(self, n: int, temperature: float = 1.0, with_finite: bool = False):
    """uint8 [n, H, W, C]; with `with_finite` also [n] bool: whether the inverse of each
    sample stayed finite (one that overflowed quantizes to black, and says nothing)."""
    z = self.prior.sample(n, temperature)
    x, _ = self.inverse(z, temperature=temperature)
    images, _ = self.dequantizer(x, inverse=True)
    if with_finite:
      return images, jnp.all(jnp.isfinite(x.reshape(n, -1)), axis=1)
    return images


def bits_per_dim(log_prob, shape):
  """bpd of a log-likelihood in nats of images of shape (H, W, C)."""
  return -log_prob / (np.prod(shape) * jnp.log(2.0))


def check_patch_size(p, shape, field="config.model.patch_size"):
  """Raises ValueError unless patches of p x p tile the image of shape (H, W, C)."""
  h, w = shape[:2]
  if p < 1 or h % p or w % p:
    raise ValueError(
        f"{field}={p} does not divide the image of {h}x{w} (config.data.shape); "
        "choose a divisor of both, e.g. 4 at 32x32 or 8 at 64x64.")
