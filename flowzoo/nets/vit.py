"""The ViT conditioner of Jet's couplings (Kolesnikov et al.; arXiv 2412.15129, sections 2.2-2.4).

A ViT (Dosovitskiy et al. 2021) without patchification, pooling or head: the
tokens it is given are already patches. Dense to `width`, a learned position
embedding, `depth` pre-LayerNorm encoder blocks (multi-head self-attention, then an
MLP of width 4 * width with tanh-approximate GELU), a final LayerNorm, and a Dense
to `out_features` that starts at zero, so a coupling driven by it is the identity
at initialisation (section 2.4). Initialisers and the LayerNorm epsilon of 1e-6
are those of the big_vision ViT that the Jet release builds on. No dropout: Jet
trains without it.
"""
from typing import Optional

import flax.linen as nn
import jax.numpy as jnp
import numpy as np


class EncoderBlock(nn.Module):
  """Pre-LayerNorm transformer block: x + MHSA(LN(x)), then x + MLP(LN(x))."""
  num_heads: int
  mlp_dim: int

  @nn.compact
  def __call__(self, x):
    inits = dict(kernel_init=nn.initializers.xavier_uniform(),
                 bias_init=nn.initializers.normal(stddev=1e-6))
    y = nn.LayerNorm(epsilon=1e-6)(x)
    x = x + nn.MultiHeadDotProductAttention(
        num_heads=self.num_heads, kernel_init=nn.initializers.xavier_uniform(),
        deterministic=True)(y, y)
    y = nn.LayerNorm(epsilon=1e-6)(x)
    y = nn.gelu(nn.Dense(self.mlp_dim, **inits)(y), approximate=True)
    return x + nn.Dense(x.shape[-1], **inits)(y)


class ViT(nn.Module):
  """Tokens [..., T, features] -> [..., T, out_features]."""
  out_features: int
  width: int = 256
  depth: int = 1
  num_heads: int = 4
  mlp_dim: Optional[int] = None  # 4 * width, as in ViT

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train  # neither dropout nor batch statistics
    x = nn.Dense(self.width, name="init_proj")(x)
    posemb = self.param("posemb", nn.initializers.normal(stddev=1 / np.sqrt(self.width)),
                        x.shape[-2:], jnp.float32)
    x = x + posemb
    for i in range(self.depth):
      x = EncoderBlock(self.num_heads, self.mlp_dim or 4 * self.width,
                       name=f"encoderblock_{i}")(x)
    x = nn.LayerNorm(epsilon=1e-6, name="encoder_norm")(x)
    return nn.Dense(self.out_features, kernel_init=nn.initializers.zeros, name="final_proj")(x)
