"""The ViT conditioner of Jet's couplings (Kolesnikov et al.; arXiv 2412.15129, sections 2.2-2.4).

A ViT (Dosovitskiy et al. 2021) without patchification, pooling or head: the
tokens it is given are already patches. Dense to `width`, a learned position
embedding, `depth` pre-LayerNorm encoder blocks (multi-head self-attention, then an
MLP of width 4 * width with tanh-approximate GELU), a final LayerNorm, and a Dense
to `out_features` that starts at zero, so a coupling driven by it is the identity
at initialisation (section 2.4). No dropout: Jet trains without it.

Initialisers, the LayerNorm epsilon of 1e-6, and the names and shapes of the
parameters are those of the big_vision ViT that the Jet release builds on, so that
a released coupling's parameters map onto these by moving the tree, not the values.
"""
from typing import Optional

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

_INITS = dict(kernel_init=nn.initializers.xavier_uniform(),
              bias_init=nn.initializers.normal(stddev=1e-6))


class MlpBlock(nn.Module):
  mlp_dim: int

  @nn.compact
  def __call__(self, x):
    y = nn.gelu(nn.Dense(self.mlp_dim, **_INITS)(x), approximate=True)
    return nn.Dense(x.shape[-1], **_INITS)(y)


class EncoderBlock(nn.Module):
  """Pre-LayerNorm transformer block: x + MHSA(LN(x)), then x + MLP(LN(x))."""
  num_heads: int
  mlp_dim: int

  @nn.compact
  def __call__(self, x):
    y = nn.LayerNorm(epsilon=1e-6)(x)
    x = x + nn.MultiHeadDotProductAttention(
        num_heads=self.num_heads, kernel_init=nn.initializers.xavier_uniform(),
        deterministic=True)(y, y)
    return x + MlpBlock(self.mlp_dim)(nn.LayerNorm(epsilon=1e-6)(x))


class Encoder(nn.Module):
  depth: int
  num_heads: int
  mlp_dim: int

  @nn.compact
  def __call__(self, x):
    for i in range(self.depth):
      x = EncoderBlock(self.num_heads, self.mlp_dim, name=f"encoderblock_{i}")(x)
    return nn.LayerNorm(epsilon=1e-6, name="encoder_norm")(x)


class ViT(nn.Module):
  """Tokens [B, T, features] -> [B, T, out_features]."""
  out_features: int
  width: int = 256
  depth: int = 1
  num_heads: int = 4
  mlp_dim: Optional[int] = None  # 4 * width, as in ViT

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train  # neither dropout nor batch statistics
    x = nn.Dense(self.width, name="init_proj")(x)
    x = x + self.param("posemb", nn.initializers.normal(stddev=1 / np.sqrt(self.width)),
                       (1, *x.shape[1:]), jnp.float32)
    x = Encoder(self.depth, self.num_heads, self.mlp_dim or 4 * self.width, name="vit")(x)
    return nn.Dense(self.out_features, kernel_init=nn.initializers.zeros, name="final_proj")(x)
