"""The conditioner networks of DenseFlow (Grcic, Grubisic, Segvic; NeurIPS 2021, section 2.2),
with the layer shapes, initialisations and order of operations of the authors' release
(github.com/matejgrcic/DenseFlow).

  DenseBlock          DenseNet layers [1x1 conv + ReLU, 3x3 conv to `growth` + ReLU], each
                      output concatenated to its input, closed by a gated 1x1 conv
                      a + b * sigmoid(c) (Huang et al. 2017; the gate as in SurVAE flows).
  NystromAttention    single-head self-attention whose softmax kernel is approximated
                      through `landmarks` pooled queries and keys (Xiong et al. 2021).
  DenseAttentionNet   the intra-module coupling network: a projection, the two branches
                      above in parallel, blended by BatchNorm -> ReLU -> 1x1 conv, and a
                      zero-initialised 1x1 conv to the coupling parameters.
  BatchNorm           torch's BatchNorm2d as the release trains it: running variance from
                      the unbiased batch variance (or flax's biased one).
  ResidualDenseNet    the coupling network of the dequantization flow (x + DenseBlock(x)).
  DequantizationContext  the context network of the dequantization flow.
  NoiseNet            g of the cross-unit coupling: 3x3 conv to 4w, ReLU, zero 1x1 conv.
"""
import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from flowzoo.nets.conv import Conv

# PyTorch's default conv weight init (kaiming_uniform with a = sqrt(5)), which the
# release never overrides: U(-1/sqrt(fan_in), 1/sqrt(fan_in)). Biases start at zero.
TORCH_INIT = nn.initializers.variance_scaling(1.0 / 3.0, "fan_in", "uniform")
zeros = nn.initializers.zeros


def conv(features, kernel=1, **kw):
  kw.setdefault("kernel_init", TORCH_INIT)
  return Conv(features, (kernel, kernel), padding="SAME", **kw)


class GatedConv(nn.Module):
  """1x1 conv to 3 * features, read as (a, b, c) -> a + b * sigmoid(c)."""
  features: int

  @nn.compact
  def __call__(self, x):
    a, b, c = jnp.split(conv(3 * self.features)(x), 3, axis=-1)
    return a + b * jax.nn.sigmoid(c)


class DenseBlock(nn.Module):
  features: int  # of the gated output
  depth: int
  growth: int

  @nn.compact
  def __call__(self, x):
    for _ in range(self.depth):
      h = nn.relu(conv(x.shape[-1])(x))
      h = nn.relu(conv(self.growth, 3)(h))
      x = jnp.concatenate([x, h], axis=-1)
    return GatedConv(self.features)(x)


def iterative_pinv(k, iterations=6):
  """Moore-Penrose pseudo-inverse by the iteration of Nystromformer (Razavi et al. 2014)."""
  eye = jnp.eye(k.shape[-1], dtype=k.dtype)
  a = jnp.abs(k)
  norm = (jnp.max(jnp.sum(a, axis=-2), axis=-1) * jnp.max(jnp.sum(a, axis=-1), axis=-1))
  v = jnp.swapaxes(k, -1, -2) / norm[..., None, None]
  for _ in range(iterations):
    kv = k @ v
    v = 0.25 * v @ (13 * eye - kv @ (15 * eye - kv @ (7 * eye - kv)))
  return v


class NystromAttention(nn.Module):
  """Single-head Nystrom self-attention with a residual on the values.

  Facts of the release kept as they are: q, k, v are read from the channel-major
  memory of the projected NCHW tensor (a reshape to [H*W, 3E] without moving the
  channel axis last), landmarks are means of contiguous groups of H*W/m rows,
  scaled by 1/sqrt(H*W), and every softmax normalises over the second-to-last axis.
  """
  embed: int
  landmarks: int = 4

  @nn.compact
  def __call__(self, x):
    n, h, w, c = x.shape
    tokens, m, e = h * w, self.landmarks, self.embed
    qkv = conv(3 * e)(x)
    qkv = jnp.transpose(qkv, (0, 3, 1, 2)).reshape(n, tokens, 3 * e)
    q, k, v = jnp.split(qkv, 3, axis=-1)
    pool = lambda t: t.reshape(n, m, tokens // m, e).mean(axis=2) / math.sqrt(tokens)
    q_m, k_m = pool(q), pool(k)
    kernel = lambda a, b: jax.nn.softmax(jnp.einsum("...ie,...je->...ij", a, b), axis=-2)
    k1, k2, k3 = kernel(q, k_m), kernel(q_m, k_m), kernel(q_m, k)
    out = k1 @ iterative_pinv(k2) @ (k3 @ v) + v
    out = jnp.transpose(out.reshape(n, e, h, w), (0, 2, 3, 1))
    return conv(c)(out)


class BatchNorm(nn.Module):
  """Batch normalisation over the last axis with flax nn.BatchNorm's variables (params
  'scale', 'bias'; batch_stats 'mean', 'var') and torch BatchNorm2d's arithmetic.

  Training normalises with the batch mean and the biased batch variance, both computed
  in two passes as torch does, and moves the running statistics by 1 - momentum
  (torch's momentum 0.1 is momentum 0.9 here). torch moves the running variance towards
  the *unbiased* batch variance, n / (n - 1) times the biased one for n values per
  channel; flax towards the biased one. `unbiased_running_var` chooses. At DenseFlow's
  sizes n = batch * H * W is at least 64 * 4 * 4 = 1024, so the two differ by < 0.1%.
  Evaluation reads (x - mean) / sqrt(var + epsilon) * scale + bias.
  """
  momentum: float = 0.9
  epsilon: float = 1e-5
  unbiased_running_var: bool = True

  @nn.compact
  def __call__(self, x, use_running_average: bool):
    c = x.shape[-1]
    scale = self.param("scale", nn.initializers.ones, (c,))
    bias = self.param("bias", nn.initializers.zeros, (c,))
    ra_mean = self.variable("batch_stats", "mean", jnp.zeros, (c,), jnp.float32)
    ra_var = self.variable("batch_stats", "var", jnp.ones, (c,), jnp.float32)
    if use_running_average:
      mean, var = ra_mean.value, ra_var.value
    else:
      axes = tuple(range(x.ndim - 1))
      xs = x.astype(jnp.promote_types(x.dtype, jnp.float32))
      mean = jnp.mean(xs, axis=axes)
      var = jnp.mean(jnp.square(xs - mean), axis=axes)
      if not self.is_initializing():  # as flax: init does not move the statistics
        n = x.size // c
        running_var = var * (n / max(n - 1, 1)) if self.unbiased_running_var else var
        m = self.momentum
        ra_mean.value = m * ra_mean.value + (1 - m) * mean
        ra_var.value = m * ra_var.value + (1 - m) * running_var
    y = (x - mean) * jax.lax.rsqrt(var + self.epsilon)
    return (y * scale + bias).astype(jnp.result_type(x, scale))


class DenseAttentionNet(nn.Module):
  """DenseFlow's intra-module coupling network (Fig. 2 of the paper)."""
  out_features: int
  width: int = 48        # projection; section 3.1
  depth: int = 7         # densely connected layers; section 3.1
  growth: int = 64       # release: DenseNetMultihead(growth=64)
  landmarks: int = 4     # release: NystromAttention(in, in // 2, 4)
  unbiased_running_var: bool = True  # BatchNorm's running variance as torch (release)

  @nn.compact
  def __call__(self, x, train: bool = False):
    x = conv(self.width)(x)
    h = jnp.concatenate([NystromAttention(self.width // 2, self.landmarks)(x),
                         DenseBlock(self.width, self.depth, self.growth)(x)], axis=-1)
    h = BatchNorm(unbiased_running_var=self.unbiased_running_var)(
        h, use_running_average=not train)
    h = conv(self.width, use_bias=False)(nn.relu(h))
    return conv(self.out_features, kernel_init=zeros)(h)


class ResidualDenseNet(nn.Module):
  """1x1 conv to width, x + DenseBlock(x), zero-initialised 1x1 conv out."""
  out_features: int
  width: int = 64
  depth: int = 4
  growth: int = 64

  @nn.compact
  def __call__(self, x, train: bool = False):
    x = conv(self.width)(x)
    x = x + DenseBlock(self.width, self.depth, self.growth)(x)
    return conv(self.out_features, kernel_init=zeros)(x)


class DequantizationContext(nn.Module):
  """Features of the image x in [-1, 1] at half resolution, for q(u | x)."""
  features: int = 64
  depth: int = 4
  growth: int = 16

  @nn.compact
  def __call__(self, x, train: bool = False):
    x = DenseBlock(self.features, self.depth, self.growth)(x)
    # Strided, and run once per step outside any scan: nn.Conv is fast here.
    x = nn.Conv(self.features, (2, 2), strides=(2, 2), padding="VALID",
                kernel_init=TORCH_INIT)(x)
    return DenseBlock(self.features, self.depth, self.growth)(x)


class NoiseNet(nn.Module):
  """g of the cross-unit coupling: (shift, raw scale) of the noise from earlier units."""
  out_features: int

  @nn.compact
  def __call__(self, x, train: bool = False):
    h = nn.relu(conv(4 * x.shape[-1], 3)(x))
    return conv(self.out_features, kernel_init=zeros)(h)
