"""Base densities of the latent space."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from flowzoo.bijectors.base import draw, float_dtype, sum_except_batch

LOG_2PI = float(np.log(2 * np.pi))


def normal_log_prob(z, mean=0.0, log_std=0.0):
  """Summed log N(z; mean, exp(log_std)^2) per example, shape [batch]."""
  eps = (z - mean) * jnp.exp(-log_std)
  return sum_except_batch(-0.5 * (eps**2 + LOG_2PI) - log_std * jnp.ones_like(z))


class StandardNormal(nn.Module):
  """N(0, I) over a latent of shape `shape`; temperature T scales the std (Glow)."""
  shape: tuple

  def log_prob(self, z):
    return normal_log_prob(z)

  def sample(self, n: int, temperature: float = 1.0):
    eps = draw(self, "eps", "sample", jax.random.normal, (n, *self.shape), float_dtype())
    return temperature * eps


class ChannelNormal(nn.Module):
  """N(mean_c, exp(log_std_c)^2) with a mean and log-std per channel (last axis), learned
  from zero (the base of DenseFlow and of its dequantization flow: the release's
  ConvNormal2d). Temperature T scales the std; `stream` names the rng stream drawn from."""
  shape: tuple

  def setup(self):
    self.mean = self.param("mean", nn.initializers.zeros, (self.shape[-1],))
    self.log_std = self.param("log_std", nn.initializers.zeros, (self.shape[-1],))

  def log_prob(self, z):
    return normal_log_prob(z, self.mean, self.log_std)

  def sample(self, n: int, temperature: float = 1.0, stream: str = "sample"):
    eps = draw(self, "eps", stream, jax.random.normal, (n, *self.shape), self.mean.dtype)
    return self.mean + jnp.exp(self.log_std) * temperature * eps
