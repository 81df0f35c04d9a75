"""The causal transformer of TarFlow's flows (Zhai et al., arXiv 2412.06329;
apple/ml-tarflow transformer_flow.py, `MetaBlock` and the modules it is made of).

Tokens [B, T, features] in the order a flow reads them -> [B, T, out_features], row t
a function of rows 0..t only:
  1. a Dense to `width` (`proj_in`, l.137) plus a learned position embedding
     `pos_embed` [P, width] read at each row's position in the image (l.138, 155):
     a flow that reads the tokens in reverse reads the embedding in reverse too, so
     pos_embed[p] always belongs to the patch at p;
  2. with `num_classes` > 0, a learned class embedding added to every row (l.139-142,
     158-167); a label < 0, or none at all, adds the mean of the class embeddings;
  3. `depth` pre-LayerNorm blocks h + Attn(LN(h)), then h + MLP(LN(h)) (l.107-118), with
     causal multi-head self-attention in heads of `head_dim` (l.28-90) and an MLP of
     4 x width with the exact erf GELU (torch.nn.GELU(), l.93-104); no final LayerNorm
     (l.169-171), no dropout;
  4. a Dense to `out_features` (`proj_out`) whose kernel starts at zero and whose bias
     keeps torch's default init (l.147-149): a fresh TarFlow is not the identity.

Every LayerNorm has torch's epsilon 1e-5 and every GELU the exact erf form; Flax's
defaults (1e-6 and the tanh approximation) move a converted model by far more than
float32 rounding. Initialisers are torch's defaults, which the release keeps:
U(+-1/sqrt(fan_in)) for every Linear's weight and bias, N(0, 0.01^2) for the embeddings.

Sampling inverts a flow one token at a time: `step` runs one row through
the blocks with a key/value cache of the rows before it, so the T sequential steps of a
flow cost as much as one pass over the sequence.
"""
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

LN_EPSILON = 1e-5  # torch.nn.LayerNorm's default, which the release keeps
EMBEDDING = nn.initializers.normal(stddev=1e-2)  # randn * 1e-2 (l.138, 140)


class Linear(nn.Module):
  """torch.nn.Linear as a Flax Dense (kernel [in, out] = weight^T): weight and bias
  start U(-1/sqrt(fan_in), 1/sqrt(fan_in)), torch's default, unless `zero_kernel`.
  It computes in `dtype` (e.g. bfloat16 for mixed precision; None: the input's) from
  float32 parameters, as torch.autocast runs a Linear."""
  features: int
  zero_kernel: bool = False
  dtype: Any = None

  @nn.compact
  def __call__(self, x):
    bound = 1.0 / np.sqrt(x.shape[-1])
    uniform = lambda key, shape, dtype=jnp.float32: jax.random.uniform(
        key, shape, dtype, -bound, bound)
    kernel = self.param("kernel", nn.initializers.zeros if self.zero_kernel else uniform,
                        (x.shape[-1], self.features))
    bias = self.param("bias", uniform, (self.features,))
    dtype = self.dtype or x.dtype
    return jnp.dot(x.astype(dtype), kernel.astype(dtype)) + bias.astype(dtype)


def layer_norm(name=None):
  return nn.LayerNorm(epsilon=LN_EPSILON, name=name)


def gelu(x):
  return nn.gelu(x, approximate=False)  # torch.nn.GELU(): the exact erf form


def attention(q, k, v, scale, causal=False, mask=None):
  """softmax(q k^T * scale) v over heads: q [B, T, N, H], k and v [B, S, N, H].

  jax.nn.dot_product_attention, so that GPUs run the fused kernel, except in float64:
  it always takes the softmax in float32 (jax 0.10, `_dot_product_attention_core`),
  which would hold a float64 model to float32 accuracy. There the same product runs
  as two einsums with the softmax in float64.
  """
  if q.dtype != jnp.float64:
    return jax.nn.dot_product_attention(q, k, v, mask=mask, scale=scale, is_causal=causal)
  logits = jnp.einsum("btnh,bsnh->bnts", q, k) * scale
  if causal:
    mask = jnp.tril(jnp.ones(logits.shape[-2:], bool))
  if mask is not None:
    logits = jnp.where(mask, logits, -jnp.inf)
  return jnp.einsum("bnts,bsnh->btnh", jax.nn.softmax(logits, axis=-1), v)


class Attention(nn.Module):
  """Causal multi-head self-attention after a LayerNorm (l.28-90).

  One Dense to 3 x width (`qkv`) whose outputs are q, k and v in thirds, head j the
  j-th slice of `head_dim` of each (l.48), and a Dense back (`proj`). Scores are
  q.k / sqrt(head_dim) (l.56), divided by the attention temperature of guidance
  in the weak pass of sampling (`step`).
  """
  width: int
  head_dim: int
  dtype: Any = None

  def setup(self):
    self.norm = layer_norm()
    self.qkv = Linear(3 * self.width, dtype=self.dtype)
    self.proj = Linear(self.width, dtype=self.dtype)

  def _qkv(self, x):
    b, t, _ = x.shape
    qkv = self.qkv(self.norm(x)).reshape(b, t, 3, self.width // self.head_dim, self.head_dim)
    return qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]

  def _out(self, y):
    return self.proj(y.reshape(*y.shape[:2], self.width))

  def __call__(self, x):
    q, k, v = self._qkv(x)
    return self._out(attention(q, k, v, self.head_dim**-0.5, causal=True))

  def step(self, x, index, cache, temperature=1.0):
    """Row `index` alone [B, 1, width], attending to the rows <= index: its key and
    value written into `cache` (k, v [B, T, heads, head_dim]), rows > index unread."""
    q, k, v = self._qkv(x)
    k_cache, v_cache = (
        jax.lax.dynamic_update_slice_in_dim(c, new.astype(c.dtype), index, axis=1)
        for c, new in zip(cache, (k, v)))
    seen = jnp.arange(k_cache.shape[1]) <= index
    y = attention(q, k_cache, v_cache, self.head_dim**-0.5 / temperature, mask=seen)
    return self._out(y), (k_cache, v_cache)


class Mlp(nn.Module):
  """LayerNorm, Dense to 4 x width, exact GELU, Dense back (l.93-104)."""
  width: int
  dtype: Any = None

  @nn.compact
  def __call__(self, x):
    h = Linear(4 * self.width, dtype=self.dtype, name="fc1")(layer_norm("norm")(x))
    return Linear(self.width, dtype=self.dtype, name="fc2")(gelu(h))


class Block(nn.Module):
  width: int
  head_dim: int
  dtype: Any = None

  def setup(self):
    self.attention = Attention(self.width, self.head_dim, self.dtype)
    self.mlp = Mlp(self.width, self.dtype)

  def __call__(self, x):
    x = x + self.attention(x)
    return x + self.mlp(x)

  def step(self, x, index, cache, temperature=1.0):
    y, cache = self.attention.step(x, index, cache, temperature)
    x = x + y
    return x + self.mlp(x), cache


class CausalTransformer(nn.Module):
  """Tokens [B, T, features] -> [B, T, out_features], row t seeing rows <= t.

  `positions` [T] says where in the image each row is (its pos_embed row); `labels`
  [B] are class indices (< 0: none), or None for no label.
  """
  out_features: int
  num_positions: int
  width: int
  depth: int
  head_dim: int = 64  # MetaBlock's head_dim (l.131); heads = width / head_dim
  num_classes: int = 0
  # The Linears' compute dtype: bfloat16 for mixed precision, where the residual
  # stream, the LayerNorms and the embeddings stay float32 (as under torch.autocast,
  # which the release's generation runs train with); None computes in the input's.
  dtype: Any = None

  def setup(self):
    self.proj_in = Linear(self.width, dtype=self.dtype)
    self.pos_embed = self.param("pos_embed", EMBEDDING, (self.num_positions, self.width))
    if self.num_classes:
      self.class_embed = self.param("class_embed", EMBEDDING, (self.num_classes, self.width))
    self.blocks = [Block(self.width, self.head_dim, self.dtype) for _ in range(self.depth)]
    self.proj_out = Linear(self.out_features, zero_kernel=True, dtype=self.dtype)

  def _embed(self, x, positions, labels):
    """proj_in(x) + pos_embed[positions] (+ the class embedding), [B, rows, width]."""
    h = self.proj_in(x) + self.pos_embed[positions]
    if not self.num_classes:
      return h
    mean = jnp.mean(self.class_embed, axis=0)
    if labels is None:
      return h + mean
    given = self.class_embed[jnp.maximum(labels, 0)]
    return h + jnp.where((labels < 0)[:, None], mean, given)[:, None]

  def __call__(self, x, positions, labels=None):
    h = self._embed(x, positions, labels)
    for block in self.blocks:
      h = block(h)
    return self.proj_out(h)

  def init_cache(self, batch, length, dtype):
    """Empty key/value caches of every block for sequences of `length` rows."""
    heads = self.width // self.head_dim
    zeros = jnp.zeros((batch, length, heads, self.head_dim), dtype)
    return [(zeros, zeros) for _ in range(self.depth)]

  def step(self, x, position, index, cache, labels=None, temperature=1.0):
    """Row `index` [B, 1, features] at image position `position`, given the rows
    before it through `cache` (init_cache, then what the previous steps returned):
    the output row [B, 1, out_features] and the cache with this row added."""
    h = self._embed(x, position[None], labels)
    new_cache = []
    for block, c in zip(self.blocks, cache):
      h, c = block.step(h, index, c, temperature)
      new_cache.append(c)
    return self.proj_out(h), new_cache
