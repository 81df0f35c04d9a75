"""TarFlow: normalizing flows are capable generative models (Zhai et al., arXiv 2412.06329,
ICML 2025), as the apple/ml-tarflow release (commit 313120e) computes it.

The model of the paper, top to bottom, with the facts of the release (file:line; the
file is transformer_flow.py unless named):
  1. the data, on [-1, 1]: for likelihood, uniform dequantization into 256 bins of
     1/128, x = (k + u) / 128 - 1 (train.py:116-119, evaluate_bpd.py:66-68), whose
     D ln(1/128) is the bound's ln 128 per dimension (evaluate_bpd.py:12-15); for
     the generation runs, Gaussian noise x = 2k/255 - 1 + sigma * eps
     (train.py:113-115), whose density bounds nothing on the 8-bit images
     (`GaussianNoise`: its bpd is recorded as gaussian(sigma), not as a bound);
  2. the image cut into patches of P x P: tokens in row-major patch order, the
     d = C P^2 features of a token ordered (channel, row in patch, column in patch),
     channel slowest (F.unfold, l.288-291), so z is [B, T, d];
  3. `num_flows` autoregressive flows (`MetaBlock`, l.121-247), flow i reading the
     tokens in raster order when i is even and reversed when odd (l.269, 278): a
     causal transformer (flowzoo/nets/causal_transformer.py) maps the tokens to 2d
     features per token, shifted down one token (l.172), so that token t gets
     (a_t, b_t) from tokens < t and token 0 gets zeros; a is the first d, b the last
     d (l.175), z_t = (x_t - b_t) exp(-a_t) (l.180), and log|det| = -sum(a), the
     release's per-dimension -mean(a) (l.181) times D;
  4. a standard normal prior on z (the release's `var` buffer is ones for these
     affine flows, l.286).

The flows run as one nn.scan, their parameters stacked on a leading axis. The inverse
of a flow is sequential: token t + 1 needs (a, b) from tokens <= t, so it is one
jax.lax.scan of T - 1 steps over the tokens, each a single row through the
transformer with a key/value cache (l.183-247).

Sampling arguments (`inverse`, `generate`, `decode`, `sample`):
  labels             [n] class indices of a class-conditional model (num_classes > 0);
                     None or a label < 0 is "no label", the mean class embedding,
                     as the release's forward (l.158-167). The release's reverse
                     reads a label of -1 as the last class (l.194-198), which does
                     not invert its forward; here both directions use the mean.
  guidance           w of classifier-free guidance (l.233-242): every
                     step also runs a weak pass with no label and attention
                     temperature `attn_temp`, and (a, b) <- (a, b) + g ((a, b) -
                     (a, b)_weak). 0 runs no weak pass. A Python number (static
                     under jit).
  attn_temp          the weak pass's attention temperature: scores divided by it.
                     Without classes it is the only difference between the two
                     passes (evaluate_fid.py:137 suggests 0.5 or 1.5).
  annealed_guidance  g = (t + 1) / (T - 1) * w at step t, rising to w at the last
                     token of each flow (evaluate_fid.py:77's setting), instead of
                     g = w (train.py:155, sample.ipynb).
  denoise            after Gaussian-noise training, one score step
                     x + sigma^2 grad log p(x) (evaluate_fid.py:80-98):
                     `TarFlow.denoise`.
"""
import math
from typing import Optional

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from flowzoo import bijectors as fb
from flowzoo.bijectors.base import draw, float_dtype
from flowzoo.models.base import ImageFlow, check_patch_size
from flowzoo.models.fields import (at_least, backprop_field, field, num_bits_field, one_of,
                                   positive)
from flowzoo.nets.causal_transformer import CausalTransformer

NOISES = ("uniform", "gaussian")


class GaussianNoise(fb.Bijector):
  """The generation runs' data: x = 2k/255 - 1 + sigma * eps (train.py:113-115), for
  the 2^num_bits levels k of the data (255 = 2^8 - 1).

  No dequantization: the noise spills over the bins, so the density of x bounds
  nothing on the 8-bit images. Its ldj, D ln(2/255), only puts log_prob on the scale
  of one 8-bit step, and flowzoo's records say `gaussian(sigma=S)` for it
  (flowzoo/provenance.py), never a uniform bound. The inverse rounds to the nearest
  of the levels.
  """
  sigma: float
  num_bits: int = 8

  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    top = 2**self.num_bits - 1
    dtype = x.dtype if inverse else float_dtype()
    ldj = jnp.full((x.shape[0],), math.prod(x.shape[1:]) * np.log(2 / top), dtype)
    if inverse:
      return jnp.clip(jnp.round((x + 1) * (top / 2)), 0, top).astype(jnp.uint8), -ldj
    eps = draw(self, "eps", "dequant", jax.random.normal, x.shape, dtype)
    return x.astype(dtype) * (2 / top) - 1 + self.sigma * eps, ldj


class AutoregressiveFlow(fb.Bijector):
  """One flow over tokens [B, T, d] (`MetaBlock`), in reverse token order when `flip`."""
  width: int
  depth: int
  head_dim: int = 64
  num_classes: int = 0
  compute_dtype: Optional[str] = None  # the transformer's matmuls (TarFlow.compute_dtype)

  @nn.compact
  def __call__(self, x, inverse=False, train=False, temperature=1.0, flip=False, labels=None,
               guidance=0.0, attn_temp=1.0, annealed_guidance=False):
    _, t, d = x.shape
    net = CausalTransformer(2 * d, t, self.width, self.depth, self.head_dim, self.num_classes,
                            dtype=self.compute_dtype, name="net")
    # The flow reads row r at image position positions[r]: the position embedding
    # goes with the tokens (l.155).
    permute = lambda y: jnp.where(flip, y[:, ::-1], y)
    positions = jnp.where(flip, jnp.arange(t)[::-1], jnp.arange(t))
    x = permute(x)
    if inverse:
      y, a = self._inverse(net, x, positions, labels, guidance, attn_temp, annealed_guidance)
      return permute(y), jnp.sum(a, axis=(1, 2))
    h = net(x, positions, labels).astype(x.dtype)  # the affine map and log-det in x's dtype
    h = jnp.concatenate([jnp.zeros_like(h[:, :1]), h[:, :-1]], axis=1)  # shift (l.172)
    a, b = jnp.split(h, 2, axis=-1)
    # Each flow's (a, b) in image token order, kept only when 'intermediates' is mutable.
    self.sow("intermediates", "a", permute(a))
    self.sow("intermediates", "b", permute(b))
    return permute((x - b) * jnp.exp(-a)), -jnp.sum(a, axis=(1, 2))

  @staticmethod
  def _inverse(net, z, positions, labels, guidance, attn_temp, annealed):
    """x with x_0 = z_0 and x_{r+1} = z_{r+1} exp(a_r) + b_r, (a_r, b_r) from rows <= r;
    and a [B, T - 1, d], the log-scales applied."""
    b, t, _ = z.shape
    guided = guidance > 0

    def step(net, carry, r):
      x, cache, weak_cache = carry
      row = jax.lax.dynamic_slice_in_dim(x, r, 1, axis=1)
      h, cache = net.step(row, positions[r], r, cache, labels)
      h = h.astype(x.dtype)
      if guided:
        weak, weak_cache = net.step(row, positions[r], r, weak_cache, None, attn_temp)
        weak = weak.astype(x.dtype)
        g = guidance * (r + 1) / (t - 1) if annealed else guidance
        h = h + g * (h - weak)
      a, shift = jnp.split(h, 2, axis=-1)
      z_next = jax.lax.dynamic_slice_in_dim(x, r + 1, 1, axis=1)
      x_next = (z_next * jnp.exp(a) + shift).astype(x.dtype)
      x = jax.lax.dynamic_update_slice_in_dim(x, x_next, r + 1, axis=1)
      return (x, cache, weak_cache), a[:, 0]

    scan = nn.scan(step, variable_broadcast="params", split_rngs={"params": False},
                   length=t - 1)
    cache = net.init_cache(b, t, z.dtype)
    (x, _, _), a = scan(net, (z, cache, cache if guided else None), jnp.arange(t - 1))
    return x, jnp.swapaxes(a, 0, 1)


class _FlowStep(nn.Module):
  """One flow as the body of the scan over flows: (x, ldj) carried, its flip given."""
  width: int
  depth: int
  head_dim: int
  num_classes: int
  inverse: bool
  guidance: float
  annealed_guidance: bool
  compute_dtype: Optional[str]

  @nn.compact
  def __call__(self, carry, flip, labels, attn_temp):
    x, ldj = carry
    y, l = AutoregressiveFlow(self.width, self.depth, self.head_dim, self.num_classes,
                              self.compute_dtype, name="flow")(
        x, inverse=self.inverse, flip=flip, labels=labels, guidance=self.guidance,
        attn_temp=attn_temp, annealed_guidance=self.annealed_guidance)
    return (y, ldj + l), None


class Flows(fb.Bijector):
  """Image [B, H, W, C] <-> tokens [B, T, d]: patchify, then the flows as one nn.scan
  (their parameters stacked on a leading axis of `num_flows`), flow i flipped when odd."""
  shape: tuple  # (H, W, C)
  patch_size: int
  num_flows: int
  width: int
  layers_per_flow: int
  head_dim: int
  num_classes: int
  backprop: str  # 'store' or 'remat'
  compute_dtype: Optional[str] = None

  @nn.compact
  def __call__(self, x, inverse=False, train=False, temperature=1.0, labels=None,
               guidance=0.0, attn_temp=1.0, annealed_guidance=False):
    h, w, _ = self.shape
    p = self.patch_size
    if not inverse:
      x = fb.patchify(x, p, p, channel_major=True)
    step = (nn.remat(_FlowStep, prevent_cse=False) if self.backprop == "remat"
            else _FlowStep)
    scan = nn.scan(step, variable_axes={"params": 0, "intermediates": 0},
                   split_rngs={"params": True}, in_axes=(0, nn.broadcast, nn.broadcast),
                   length=self.num_flows, reverse=inverse)
    flips = jnp.arange(self.num_flows) % 2 == 1
    ldj = jnp.zeros((x.shape[0],), x.dtype)
    (x, ldj), _ = scan(self.width, self.layers_per_flow, self.head_dim, self.num_classes,
                       inverse, guidance, annealed_guidance, self.compute_dtype,
                       name="flows")(
        (x, ldj), flips, labels, attn_temp)
    if inverse:
      x = fb.unpatchify(x, h, w, p, p, channel_major=True)
    return x, ldj


class TarFlow(ImageFlow):
  """The backbone: images [B, H, W, C] <-> z [B, T, d]. The defaults are the release's
  ImageNet 64x64 likelihood run (README.md:44-48: 2-768-8-8, uniform noise)."""
  shape: tuple  # (H, W, C)
  patch_size: int = field(2, "P: tokens of P*P*C features (--patch_size)", at_least(1))
  width: int = field(768, "transformer width (--channels)", at_least(1))
  num_flows: int = field(8, "autoregressive flows, alternating token order (--blocks)",
                         at_least(1))
  layers_per_flow: int = field(8, "transformer blocks per flow (--layers_per_block)",
                               at_least(1))
  head_dim: int = field(64, "attention head width (MetaBlock's default); must divide width",
                        at_least(1))
  num_classes: int = field(0, "> 0: class-conditional (labels in log_prob and sample); "
                           "0: unconditional", at_least(0))
  noise: str = field("uniform", "'uniform': dequantized, bpd a bound; 'gaussian': generation",
                     one_of(NOISES))
  noise_std: float = field(0.05, "sigma of 'gaussian' noise, and of the denoising step "
                           "(--noise_std: 0.05 at 64x64)", positive)
  num_bits: int = num_bits_field()
  backprop: str = backprop_field(
      "remat", "'invertible' is refused: a flow's inverse is autoregressive, T sequential "
      "transformer passes where its forward is one, so use 'remat'")
  # Mixed precision: the transformers' matmuls in this dtype ('bfloat16') from float32
  # parameters, the affine maps and log-dets in float32. Not a config.model field: the
  # trainer sets it from config.train.compute_dtype for its train step only.
  compute_dtype: Optional[str] = None

  @nn.nowrap
  def check_config(self):
    """Raises ValueError naming the config.model field that cannot work, and the fix."""
    h, w, _ = self.shape
    p = self.patch_size
    check_patch_size(p, self.shape)
    if (h // p) * (w // p) < 2:
      raise ValueError(f"config.model.patch_size={p} leaves one token of the {h}x{w} image, "
                       "which every flow passes unchanged; choose a smaller patch size.")
    if self.backprop == "invertible":
      raise ValueError(
          "config.model.backprop='invertible' recomputes each flow's input with its inverse, "
          "which for an autoregressive flow is T sequential transformer passes over the "
          "tokens where its forward is one parallel pass; use config.model.backprop='remat', "
          "which keeps only each flow's input for one more forward pass.")
    if self.width % self.head_dim:
      raise ValueError(f"config.model.width={self.width} is not a multiple of "
                       f"config.model.head_dim={self.head_dim}; heads are width / head_dim.")

  def setup(self):
    h, w, c = self.shape
    p = self.patch_size
    b = self.num_bits
    if self.noise == "uniform":
      # 2^b bins on [-1, 1): 1/128 at 8 bits.
      dequantizer = fb.UniformDequantization(scale=2 / 2**b, offset=-1.0, num_bits=b)
    else:
      dequantizer = GaussianNoise(self.noise_std, b)
    self.dequantizer = fb.keep_bits(b, dequantizer)
    self.flow = Flows(self.shape, p, self.num_flows, self.width, self.layers_per_flow,
                      self.head_dim, self.num_classes, self.backprop, self.compute_dtype)
    self.prior = fb.StandardNormal(((h // p) * (w // p), p * p * c))

  def inverse(self, z, train=False, temperature=1.0, labels=None, guidance=0.0, attn_temp=1.0,
              annealed_guidance=False):
    return self.flow(z, inverse=True, guidance=guidance, attn_temp=attn_temp,
                     annealed_guidance=annealed_guidance, **self.conditioning(labels))

  def denoise(self, x, labels=None, sigma=None):
    """x + sigma^2 grad_x log p(x): one step towards the clean image (Tweedie's formula;
    evaluate_fid.py:80-98 with its learning rate batch * D * sigma^2 on the batch-mean
    loss). sigma defaults to the training noise of a Gaussian-noise model."""
    if sigma is None:
      if self.noise != "gaussian":
        raise ValueError("denoising needs the noise std: this TarFlow was trained with "
                         f"config.model.noise={self.noise!r}; pass sigma.")
      sigma = self.noise_std

    def log_density(model, x):
      z, ldj = model.forward(x, labels=labels)
      return jnp.sum(model.prior.log_prob(z) + ldj)

    (score,) = nn.grad(log_density, self, x)
    return x + sigma**2 * score

  def generate(self, n, temperature=1.0, labels=None, guidance=0.0, attn_temp=1.0,
               annealed_guidance=False, denoise=True):
    """n samples [n, H, W, C] on the data scale [-1, 1]: decode_continuous of prior draws."""
    return self.decode_continuous(self.prior.sample(n, temperature), labels, guidance,
                                  attn_temp, annealed_guidance, denoise)

  def decode_continuous(self, z, labels=None, guidance=0.0, attn_temp=1.0,
                        annealed_guidance=False, denoise=True):
    """The images [n, H, W, C] of latents z on the data scale [-1, 1], denoised after
    Gaussian-noise training unless `denoise` is False (module docstring: the other
    arguments)."""
    x, _ = self.inverse(z, labels=labels, guidance=guidance, attn_temp=attn_temp,
                        annealed_guidance=annealed_guidance)
    if denoise and self.noise == "gaussian":
      x = self.denoise(x, labels)
    return x

  def decode(self, z, temperature=1.0, labels=None, with_finite=False, guidance=0.0,
             attn_temp=1.0, annealed_guidance=False, denoise=True):
    """uint8 images of decode_continuous (ImageFlow.decode; the inverse draws nothing, so
    `temperature` changes nothing)."""
    return self.quantize(self.decode_continuous(z, labels, guidance, attn_temp,
                                                annealed_guidance, denoise), with_finite)

