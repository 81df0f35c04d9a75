"""Pixel-shuffling corruptions (MixerFlow, arXiv 2310.16777, section 5.4).

MixerFlow is tested on images whose pixels were moved by one fixed, seeded
permutation, which removes the spatial locality convolutional flows rely on
while keeping the data a bijective function of the original:
- 'local_shuffle': the same permutation of the pixels inside every patch, and
  one permutation of the patches;
- 'global_shuffle': one permutation of all pixel positions.
A pixel moves with its channels. The permutation is a function of the seed
only, so train and eval (and every process and run) see the same corruption.
"""
import numpy as np

CORRUPTIONS = ("none", "local_shuffle", "global_shuffle")


def pixel_permutation(shape, corruption, seed, patch):
  """Source pixel of every output pixel, flat over H*W; None for 'none'.

  The corrupted image is `image.reshape(H*W, C)[perm].reshape(H, W, C)`.
  """
  h, w = shape[:2]
  rng = np.random.default_rng(seed)
  if corruption == "none":
    return None
  if corruption == "global_shuffle":
    return rng.permutation(h * w)
  if corruption == "local_shuffle":
    rows, cols = h // patch, w // patch
    # Flat pixel ids grouped as [patch index, position inside the patch].
    patches = np.arange(h * w).reshape(rows, patch, cols, patch)
    patches = patches.transpose(0, 2, 1, 3).reshape(rows * cols, patch * patch)
    patch_perm = rng.permutation(rows * cols)
    pixel_perm = rng.permutation(patch * patch)
    moved = patches[patch_perm][:, pixel_perm]
    return moved.reshape(rows, cols, patch, patch).transpose(0, 2, 1, 3).ravel()
  raise ValueError(f"Unknown corruption {corruption!r}; one of {CORRUPTIONS}.")

