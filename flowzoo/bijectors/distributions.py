"""Base densities of the latent space."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from flowzoo.bijectors.base import sum_except_batch

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
    return temperature * jax.random.normal(self.make_rng("sample"), (n, *self.shape))
