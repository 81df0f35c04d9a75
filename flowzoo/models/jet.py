"""Jet: a modern transformer-based normalizing flow (Kolesnikov, Susano Pinto, Tschannen; arXiv 2412.15129).

Section 2 of the paper, top to bottom, with the facts of the big_vision release:
  1. uniform dequantization, the data scaled to [-1, 1] as x / 127.5 - 1, so one
     bin is 1/127.5 wide (section 3; the release's value_range(-1, 1));
  2. the image cut into patches of ps x ps: tokens in row-major patch order, the
     d = ps*ps*C features of a token ordered (row in patch, column in patch, channel);
  3. `num_couplings` affine couplings y2 = (x2 + b(x1)) * 2 sigmoid(s(x1)) (2.2),
     whose b and s come from a ViT without patchification, pooling or head
     (flowzoo/nets/vit.py) with a zero-initialised last layer, so the model is the
     identity at initialisation (2.4); no ActNorm, no invertible dense layers, no
     multiscale (Table 2b);
  4. dimension splitting (2.5): a channel coupling splits the d features of every
     token by a random permutation fixed per coupling, the first half conditioning;
     a spatial coupling splits the tokens into two halves by a pattern
     (checkerboard, vertical or horizontal stripes, each with an '-inv' variant
     that swaps the halves). The kinds cycle through `kinds` and the spatial
     couplings through `spatial_patterns` (the release's ImageNet64 model: four
     channel couplings, then one spatial, all six patterns in turn; 3.2.1).
     Splits and merges are products with frozen 0/1 matrices at full float32
     precision, lest the dequantization noise lose its entropy (2.5);
  5. the tokens back into the image; a standard normal prior.

Pairing and masking (3.2.2, Table 2a). In pairing mode, the default, each
half-token of d features is read as two pseudo-tokens of d/2, so the ViT of every
coupling, channel or spatial, sees [B, T, d/2] and predicts the paired pseudo-
tokens of the other half: one scanned module serves both kinds. In masking mode
the ViT sees all T tokens of d features with the transformed half set to zero and
its outputs are used on that half only; a channel coupling is then the same map
as in pairing mode, with unused weights on the zeroed inputs and the unused outputs.

All couplings run as one scan with their parameters stacked on a leading axis, the
backward pass keeping what `backprop` says (as flowzoo.bijectors.Repeat). The split
matrices of all couplings, the scan's inputs, live stacked in the 'consts' collection:
checkpointed and inspectable like parameters, but outside 'params', so the optimizer
never changes them.
"""
import functools
import itertools
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from flowzoo import bijectors as fb
from flowzoo.models.base import ImageFlow, check_patch_size
from flowzoo.bijectors import invertible
from flowzoo.models.fields import (at_least, backprop_field, field, num_bits_field, one_of,
                                   sequence_of)
from flowzoo.nets import ViT

KINDS = ("channels", "spatial")
SPATIAL_PATTERNS = ("checkerboard", "checkerboard-inv", "vstripes", "vstripes-inv",
                    "hstripes", "hstripes-inv")
MODES = ("pairing", "masking")
HIGHEST = jax.lax.Precision.HIGHEST


def coupling_plan(num_couplings, kinds, spatial_patterns):
  """(kind, spatial pattern or None) of each coupling: kinds cycle, and so do patterns."""
  patterns = itertools.cycle(spatial_patterns)
  return [(kind, next(patterns) if kind == "spatial" else None)
          for kind in itertools.islice(itertools.cycle(kinds), num_couplings)]


def spatial_halves(pattern, grid):
  """Token indices of the conditioning and the transformed half on a (rows, cols) grid.

  The checkerboard is the parity of flat index plus row, as in the release: a true
  checkerboard on grids of even width.
  """
  rows, cols = grid
  flat = np.arange(rows * cols)
  parity = {"checkerboard": (flat + flat // cols) % 2,
            "vstripes": flat % 2,
            "hstripes": (flat // cols) % 2}[pattern.removesuffix("-inv")]
  halves = np.flatnonzero(parity == 0), np.flatnonzero(parity == 1)
  return halves[::-1] if pattern.endswith("-inv") else halves


def channel_permutations(key, num_couplings, d):
  return jnp.stack([jax.random.permutation(jax.random.fold_in(key, i), d)
                    for i in range(num_couplings)])


# Pairing mode: the split is a product with a 0/1 matrix, then a reshape that lays
# the conditioning half x1 and the transformed half x2, each [B, T, d/2], side by
# side on the last axis, where fb.AffineCoupling splits them.

def pair_channels(x, proj):
  """Feature j of every token becomes feature perm[j]; halves (x1 | x2) of [B, T, d]."""
  return jnp.einsum("btk,km->btm", x, proj, precision=HIGHEST)


def unpair_channels(u, proj):
  return jnp.einsum("btm,km->btk", u, proj, precision=HIGHEST)


def pair_tokens(x, proj):
  """The tokens of either half, as pseudo-tokens of d/2 features, side by side."""
  b, t, d = x.shape
  x = jnp.einsum("btk,tm->bmk", x, proj, precision=HIGHEST)
  return x.reshape(b, 2, t, d // 2).transpose(0, 2, 1, 3).reshape(b, t, d)


def unpair_tokens(u, proj):
  b, t, d = u.shape
  u = u.reshape(b, t, 2, d // 2).transpose(0, 2, 1, 3).reshape(b, t, d)
  return jnp.einsum("bmk,tm->btk", u, proj, precision=HIGHEST)


def channel_splits(key, plan, d):
  """[N, d, d]: proj[perm[j], j] = 1 at channel couplings, zero (never read) elsewhere."""
  perms = channel_permutations(key, len(plan), d)
  return jnp.stack([jnp.eye(d, dtype=jnp.float32)[:, perms[i]] if kind == "channels"
                    else jnp.zeros((d, d), jnp.float32) for i, (kind, _) in enumerate(plan)])


def spatial_splits(plan, grid):
  """[N, T, T]: proj[halves[j], j] = 1, the two halves in turn, at spatial couplings."""
  t = grid[0] * grid[1]
  return jnp.asarray(np.stack([
      np.eye(t)[:, np.concatenate(spatial_halves(pattern, grid))] if pattern
      else np.zeros((t, t)) for _, pattern in plan]), jnp.float32)


def masking_masks(key, plan, grid, d):
  """Stacked 0/1 masks [N, T, d] of all couplings, one on the conditioning half."""
  t = grid[0] * grid[1]
  perms = channel_permutations(key, len(plan), d)
  masks = []
  for i, (kind, pattern) in enumerate(plan):
    if kind == "channels":
      masks.append(jnp.zeros((t, d)).at[:, perms[i, :d // 2]].set(1.0))
    else:
      masks.append(jnp.zeros((t, d)).at[spatial_halves(pattern, grid)[0]].set(1.0))
  return jnp.stack(masks).astype(jnp.float32)


def _couple(conditioner, mode, x, split, inverse):
  """One coupling of either kind given its split, its layers children of the calling
  module: "conditioner" (masking) or "coupling" (pairing), whichever step runs it."""
  if mode == "masking":
    keep = 1.0 - split
    h = conditioner(2 * x.shape[-1], name="conditioner")(x * split)
    shift, raw = jnp.split(h, 2, axis=-1)
    return fb.affine(x, keep * shift, keep * fb.log_scale(raw, "sigmoid2"), inverse)
  is_channels, channel_proj, spatial_proj = split
  u = jax.lax.cond(is_channels, pair_channels, lambda x, _: pair_tokens(x, spatial_proj),
                   x, channel_proj)
  v, l = fb.AffineCoupling(conditioner, scale="sigmoid2", name="coupling")(u, inverse=inverse)
  y = jax.lax.cond(is_channels, unpair_channels, lambda v, _: unpair_tokens(v, spatial_proj),
                   v, channel_proj)
  return y, l


class CouplingStep(nn.Module):
  """One coupling of either kind, as the body of nn.scan; its split comes as input."""
  conditioner: Callable[[int], nn.Module]
  mode: str
  inverse: bool

  @nn.compact
  def __call__(self, carry, split):
    x, ldj = carry
    y, l = _couple(self.conditioner, self.mode, x, split, self.inverse)
    return (y, ldj + l), None


class _InvertibleStep(nn.Module):
  """One coupling in the direction it is called with, for invertible backprop
  (flowzoo.bijectors.invertible.scan runs each both ways); same variables as
  CouplingStep."""
  conditioner: Callable[[int], nn.Module]
  mode: str

  @nn.compact
  def __call__(self, x, inverse, split):
    return _couple(self.conditioner, self.mode, x, split, inverse)


class Couplings(fb.Bijector):
  """All couplings of Jet over tokens [B, T, d], as one nn.scan."""
  grid: tuple  # (rows, cols) of patches
  num_couplings: int
  kinds: tuple
  spatial_patterns: tuple
  mode: str
  conditioner: Callable[[int], nn.Module]
  backprop: str = "remat"

  @nn.compact
  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    plan = coupling_plan(self.num_couplings, self.kinds, self.spatial_patterns)
    d = x.shape[-1]
    if self.mode == "masking":
      splits = self.variable("consts", "masks", lambda: masking_masks(
          self.make_rng("params"), plan, self.grid, d)).value
    else:
      channel = self.variable("consts", "channel_splits", lambda: channel_splits(
          self.make_rng("params"), plan, d)).value
      spatial = self.variable("consts", "spatial_splits", lambda: spatial_splits(
          plan, self.grid)).value
      splits = (jnp.array([kind == "channels" for kind, _ in plan]), channel, spatial)
    ldj = jnp.zeros((x.shape[0],), x.dtype)
    if self.backprop == "invertible" and not self.is_initializing():
      steps = invertible.scan(_InvertibleStep, self.num_couplings, inverse)
      return steps(self.conditioner, self.mode, name="couplings")(x, ldj, splits)
    step = (nn.remat(CouplingStep, prevent_cse=False) if self.backprop == "remat"
            else CouplingStep)
    scan = nn.scan(step, variable_axes={"params": 0}, split_rngs={"params": True},
                   in_axes=0, length=self.num_couplings, reverse=inverse)
    (x, ldj), _ = scan(self.conditioner, self.mode, inverse, name="couplings")((x, ldj), splits)
    return x, ldj


class Jet(ImageFlow):
  """The defaults are the paper's ablation model (section 3.2)."""
  shape: tuple  # (H, W, C)
  patch_size: int = field(4, "ps: tokens of ps*ps*C features; the paper picks 256 tokens",
                          at_least(1))
  num_couplings: int = field(32, "affine couplings, all in one scan", at_least(1))
  vit_depth: int = field(2, "encoder blocks of every coupling's ViT", at_least(1))
  width: int = field(512, "ViT width; its MLP is 4x as wide", at_least(1))
  num_heads: int = field(8, "attention heads; must divide the width", at_least(1))
  kinds: tuple = field(("channels", "channels", "spatial"), "coupling kinds, cycled",
                       sequence_of(one_of(KINDS)))
  spatial_patterns: tuple = field(("checkerboard", "checkerboard-inv"),
                                  "cycled over the spatial couplings",
                                  sequence_of(one_of(SPATIAL_PATTERNS)))
  mode: str = field("pairing", "'pairing' (the paper's choice) or 'masking' (Table 2a)",
                    one_of(MODES))
  num_bits: int = num_bits_field()
  backprop: str = backprop_field("remat", "'invertible' covers all couplings")

  @nn.nowrap
  def check_config(self):
    """Raises ValueError naming the config.model field that cannot work, and the fix."""
    h, w, c = self.shape
    ps = self.patch_size
    check_patch_size(ps, self.shape)
    if (ps * ps * c) % 2:
      raise ValueError(
          f"config.model.patch_size={ps} gives tokens of {ps}*{ps}*{c} = {ps * ps * c} "
          "features, which cannot be split in halves; choose an even patch size.")
    if self.width % self.num_heads:
      raise ValueError(f"config.model.width={self.width} is not divisible by "
                       f"config.model.num_heads={self.num_heads}; choose a divisor of the "
                       "width.")
    if "spatial" not in self.kinds:
      return
    grid = (h // ps, w // ps)
    for p in self.spatial_patterns:
      first, second = spatial_halves(p, grid)
      if len(first) != len(second):
        raise ValueError(
            f"config.model.spatial_patterns has {p!r}, which splits the {grid[0]}x{grid[1]} "
            f"grid of patches into halves of {len(first)} and {len(second)} tokens; spatial "
            "couplings need an even token count split evenly (checkerboard: an even number "
            "of columns, hstripes: of rows); change config.model.patch_size or the patterns.")

  def setup(self):
    h, w, _ = self.shape
    ps = self.patch_size
    # [-1, 1] with bins of 2/255 = 1/127.5 at 8 bits (the release's value_range(-1, 1)):
    # the bound carries D ln 127.5 nats, not D ln 128.
    b = self.num_bits
    self.dequantizer = fb.keep_bits(
        b, fb.UniformDequantization(scale=2 / (2**b - 1), offset=-1.0, num_bits=b))
    conditioner = functools.partial(
        ViT, width=self.width, depth=self.vit_depth, num_heads=self.num_heads)
    couplings = Couplings(
        (h // ps, w // ps), self.num_couplings, self.kinds, self.spatial_patterns,
        self.mode, conditioner, self.backprop)
    patches = fb.Patchify((ps, ps), (h, w))
    self.flow = fb.Chain([patches, couplings, fb.Invert(patches)])
    self.prior = fb.StandardNormal(self.shape)
