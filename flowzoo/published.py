"""Published test bpd of the backbones flowzoo implements, as data.

Copied from /work/shared/REFERENCE.md, each row citing its paper and table.
Where REFERENCE.md does not name the table a number comes from, `source` says
"results table" rather than guess a number. Datasets use flowzoo's TFDS names;
`canonical_dataset` maps the other spellings onto them.
"""

import dataclasses
import os
import re


@dataclasses.dataclass(frozen=True)
class Published:
  model: str              # flowzoo registry name of the backbone.
  dataset: str            # TFDS name, as in a record's `dataset`.
  bpd: float
  params: int | None      # trainable parameters, None if the paper gives none.
  source: str             # paper and table.
  variant: str = ""       # what sets this row apart (pretraining, baseline).
  corruption: str | None = None  # as a record's `corruption`.
  bound: str | None = None       # as a record's `bound`, None if not stated.


_MIXERFLOW = "MixerFlow (English et al., arXiv 2310.16777)"
_JET = "Jet (Kolesnikov et al., TMLR, arXiv 2412.15129)"
_DENSEFLOW = "DenseFlow (Grcic et al., NeurIPS 2021)"
_GLOW = "Glow (Kingma & Dhariwal, NeurIPS 2018)"
_IN32 = "downsampled_imagenet/32x32"
_IN64 = "downsampled_imagenet/64x64"

# The corruption names of MixerFlow's permuted-data experiments.
GLOBAL_SHUFFLE = "global_shuffle"
LOCAL_SHUFFLE = "local_shuffle"

PUBLISHED = (
    # MixerFlow, density-estimation results; uniform dequantization, one sample.
    Published("mixerflow", "cifar10", 3.46, 11_340_000,
              f"{_MIXERFLOW}, results table", bound="elbo"),
    Published("mixerflow", _IN32, 4.20, None,
              f"{_MIXERFLOW}, results table", bound="elbo"),
    Published("mixerflow", _IN64, 3.92, 18_900_000,
              f"{_MIXERFLOW}, results table", bound="elbo"),
    # Glow as MixerFlow's baseline (smaller than Glow's own CIFAR-10 model).
    Published("glow", "cifar10", 3.51, 11_020_000,
              f"{_MIXERFLOW}, results table", "baseline in MixerFlow",
              bound="elbo"),
    Published("glow", _IN32, 4.32, 11_020_000,
              f"{_MIXERFLOW}, results table", "baseline in MixerFlow",
              bound="elbo"),
    Published("glow", _IN64, 3.94, 37_040_000,
              f"{_MIXERFLOW}, results table", "baseline in MixerFlow",
              bound="elbo"),
    # MixerFlow Tables 4 and 5: pixels permuted over the whole image (global)
    # or within patches (local), CIFAR-10 / ImageNet32.
    Published("mixerflow", "cifar10", 4.09, None, f"{_MIXERFLOW}, Table 4",
              "global shuffling", GLOBAL_SHUFFLE, "elbo"),
    Published("mixerflow", _IN32, 4.91, None, f"{_MIXERFLOW}, Table 5",
              "global shuffling", GLOBAL_SHUFFLE, "elbo"),
    Published("glow", "cifar10", 5.18, None, f"{_MIXERFLOW}, Table 4",
              "global shuffling, baseline in MixerFlow", GLOBAL_SHUFFLE,
              "elbo"),
    Published("glow", _IN32, 5.27, None, f"{_MIXERFLOW}, Table 5",
              "global shuffling, baseline in MixerFlow", GLOBAL_SHUFFLE,
              "elbo"),
    Published("mixerflow", "cifar10", 3.49, None, f"{_MIXERFLOW}, Table 4",
              "local shuffling", LOCAL_SHUFFLE, "elbo"),
    Published("mixerflow", _IN32, 4.24, None, f"{_MIXERFLOW}, Table 5",
              "local shuffling", LOCAL_SHUFFLE, "elbo"),
    Published("glow", "cifar10", 4.06, None, f"{_MIXERFLOW}, Table 4",
              "local shuffling, baseline in MixerFlow", LOCAL_SHUFFLE, "elbo"),
    Published("glow", _IN32, 4.49, None, f"{_MIXERFLOW}, Table 5",
              "local shuffling, baseline in MixerFlow", LOCAL_SHUFFLE, "elbo"),
    # Glow's own CIFAR-10 run (L=3, K=32, width 512, additive 1/256 noise);
    # the parameter count is that of the openai/glow release, 44,603,604.
    Published("glow", "cifar10", 3.35, 44_603_604,
              f"{_GLOW}, Table 2", "L=3, K=32, width 512", bound="elbo"),
    # Jet on ImageNet-1k downsampled by van den Oord et al.'s protocol, the
    # same data as downsampled_imagenet; uniform dequantization at eval.
    Published("jet", _IN64, 3.656, None, f"{_JET}, results table",
              "ImageNet-1k", bound="elbo"),
    Published("jet", _IN32, 3.931, None, f"{_JET}, results table",
              "ImageNet-1k", bound="elbo"),
    Published("jet", _IN64, 3.580, None, f"{_JET}, results table",
              "ImageNet-21k pretraining, ImageNet-1k fine-tuning", None,
              "elbo"),
    Published("jet", _IN32, 3.857, None, f"{_JET}, results table",
              "ImageNet-21k pretraining, ImageNet-1k fine-tuning", None,
              "elbo"),
    Published("jet", "cifar10", 3.018, None, f"{_JET}, results table",
              "ImageNet-21k pretraining, CIFAR-10 fine-tuning", bound="elbo"),
    # DenseFlow-74-10, variational dequantization and augmentation: the test
    # bound uses 1000 importance samples on CIFAR-10 and 200 on ImageNet.
    # The paper gives about 130M parameters for the ImageNet models.
    Published("denseflow", "cifar10", 2.98, None,
              f"{_DENSEFLOW}, results table", "DenseFlow-74-10",
              bound="iwbo-1000"),
    Published("denseflow", _IN32, 3.63, 130_000_000,
              f"{_DENSEFLOW}, results table", "DenseFlow-74-10, ~130M params",
              bound="iwbo-200"),
    Published("denseflow", _IN64, 3.35, 130_000_000,
              f"{_DENSEFLOW}, results table", "DenseFlow-74-10, ~130M params",
              bound="iwbo-200"),
)


FOLDER_PREFIX = "folder:"  # data.name of a folder of images (flowzoo.data.sources)

# (H, W, C) at which a dataset's published numbers are measured. A run at
# another data.shape gets a table of its own; see native_shape.
_NATIVE_SHAPES = {
    "cifar10": (32, 32, 3),
    "cifar100": (32, 32, 3),
    "svhn_cropped": (32, 32, 3),
    "mnist": (28, 28, 1),
    "fashion_mnist": (28, 28, 1),
    "flowzoo_shapes/rgb": (32, 32, 3),
    "flowzoo_shapes/gray": (32, 32, 1),
}


def is_folder(dataset: str) -> bool:
  """Whether `dataset` is a 'folder:PATH' dataset rather than a TFDS name."""
  return dataset.strip().startswith(FOLDER_PREFIX)


def native_shape(dataset: str) -> tuple[int, int, int] | None:
  """(H, W, C) of a dataset's own images, None if unknown (folders: always).

  A run of cifar10 brought to 16x16 is a different density estimation task,
  so the leaderboard ranks runs by (dataset, shape) and shows the papers'
  numbers only beside runs at the native shape.
  """
  dataset = canonical_dataset(dataset)
  match = re.fullmatch(r"downsampled_imagenet/(\d+)x\1", dataset)
  if match:
    return (int(match.group(1)), int(match.group(1)), 3)
  return _NATIVE_SHAPES.get(dataset)


def canonical_dataset(name: str) -> str:
  """flowzoo's TFDS name for a dataset spelling; unknown names pass through.

  'ImageNet32', 'imagenet_resized/32x32' and 'downsampled_imagenet/32x32' all
  become 'downsampled_imagenet/32x32'. A TFDS version ('cifar10:3.0.2') is
  dropped. imagenet_resized (Chrabaszcz et al. 2017) is resized differently
  from van den Oord et al.'s downsampled ImageNet, so across the two bpd is
  comparable to a few hundredths at best; they share a table for lack of more.
  'folder:PATH' keeps its path as written: every folder is a dataset of its
  own (the trainer records PATH absolute).
  """
  if is_folder(name):
    path = name.strip()[len(FOLDER_PREFIX):].strip()
    if path and "://" not in path:
      # One spelling per folder: no trailing slash, no '.' or '..' parts.
      path = os.path.normpath(path)
    return FOLDER_PREFIX + path
  base = name.strip().split(":")[0].lower()
  match = re.fullmatch(r"(?:downsampled_imagenet|imagenet_resized|imagenet)"
                       r"[/_-]?(8|16|32|64)(?:x\1)?", base)
  if match:
    return f"downsampled_imagenet/{match.group(1)}x{match.group(1)}"
  if base in ("cifar-10", "cifar_10"):
    return "cifar10"
  return base


def published_rows(dataset: str | None = None) -> list[Published]:
  """PUBLISHED, or its rows for one dataset (any spelling)."""
  if dataset is None:
    return list(PUBLISHED)
  wanted = canonical_dataset(dataset)
  return [p for p in PUBLISHED if p.dataset == wanted]
