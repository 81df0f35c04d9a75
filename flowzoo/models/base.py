"""What every backbone is: a flow over discrete images, with its two directions.

A backbone defines, in `setup`, three parts that the methods here compose:
  self.dequantizer  discrete images -> continuous data (its ldj holds the bin width)
  self.flow         continuous data -> latent, a bijector (flowzoo/bijectors/base.py)
  self.prior        the base density of the latent, with log_prob and sample
so that log_prob(x) = prior.log_prob(z) + ldj(flow) + ldj(dequantizer) is a lower
bound on log P(x) in nats (Theis et al. 2016), and bpd = -log_prob / (D ln 2) with
nothing to add.

The directions are `encode` (uint8 images -> latent) and `decode` (latent -> uint8
images); `log_prob` scores an encoding and `sample` decodes a draw of the prior. The
trainer, the sampler and the experiments call these, never the parts; only
flowzoo/provenance.py reads the dequantizer's kind, to name a record's bound.

Class conditioning. A backbone whose config.model has `num_classes` > 0 (a field of
its module) is class-conditional: log_prob, encode, decode, forward, inverse and
sample take `labels`, int [batch] in [0, num_classes), and pass them to the flow as
`labels=`; a label < 0 means "no label" (the backbone's unconditional branch, e.g.
TarFlow's mean class embedding), as does `labels=None`. The flow of any other
backbone is called exactly as before, and labels given to it are an error.
"""
import flax.linen as nn
import jax.numpy as jnp
import numpy as np


class ImageFlow(nn.Module):

  @nn.nowrap
  def check_config(self):
    """Raises ValueError naming the config.model field for what its own check cannot see
    (other fields, the image shape); backbones with such constraints override it."""

  def conditioning(self, labels):
    """The flow's keyword arguments for `labels`: none for None (module docstring)."""
    if labels is None:
      return {}
    if not getattr(self, "num_classes", 0):
      raise ValueError(f"labels were given to {type(self).__name__}, which is not class-"
                       "conditional: config.model.num_classes is 0 or not a field of it.")
    return {"labels": labels}

  def forward(self, x, train: bool = False, labels=None):
    return self.flow(x, inverse=False, train=train, **self.conditioning(labels))

  def inverse(self, z, train: bool = False, temperature: float = 1.0, labels=None):
    return self.flow(z, inverse=True, train=train, temperature=temperature,
                     **self.conditioning(labels))

  def encode(self, images, train: bool = False, labels=None):
    """(z, ldj, ldj_dequant) of uint8 images [B, H, W, C]: the latent, and the log-dets
    of the flow and of the dequantizer, so that log_prob is prior.log_prob(z) + ldj +
    ldj_dequant.

    The dequantization noise is drawn from the 'dequant' rng stream, or given in the
    'draws' collection (flowzoo/bijectors/base.py); e.g. u = 1/2 for a uniform
    dequantizer puts every pixel at the centre of its bin, and is what makes encode
    deterministic. decode(z) returns the images from any noise inside the bins.
    """
    x, ldj_dequant = self.dequantizer(images, train=train)
    z, ldj = self.forward(x, train=train, labels=labels)
    return z, ldj, ldj_dequant

  def decode(self, z, temperature: float = 1.0, labels=None, with_finite: bool = False):
    """uint8 images [B, H, W, C] of latents z: the flow's inverse, each value floored
    (rounded, after Gaussian noise) to its bin. `temperature` scales what the inverse
    itself draws (a multi-scale flow's factored-out noise). With `with_finite` also
    [B] bool: whether each inverse stayed finite (one that overflowed quantizes to
    black, and says nothing)."""
    x, _ = self.inverse(z, temperature=temperature, labels=labels)
    return self.quantize(x, with_finite)

  def log_prob(self, images, train: bool = False, labels=None):
    z, ldj, ldj_dequant = self.encode(images, train=train, labels=labels)
    return self.prior.log_prob(z) + ldj + ldj_dequant

  def sample(self, n: int, temperature: float = 1.0, with_finite: bool = False, labels=None,
             **decode_args):
    """decode of n draws of the prior at `temperature` (its std multiplier); decode_args:
    what a backbone's decode takes beside (TarFlow's guidance)."""
    return self.decode(self.prior.sample(n, temperature), temperature, labels, with_finite,
                       **decode_args)

  def quantize(self, x, with_finite: bool = False):
    """The uint8 images of continuous data x (decode's last step)."""
    images, _ = self.dequantizer(x, inverse=True)
    if with_finite:
      return images, jnp.all(jnp.isfinite(x.reshape(x.shape[0], -1)), axis=1)
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
