"""Published test bpd of flow backbones, as data, each row citing its paper and table.

A row says everything a record says where the paper says it, and None ("not
stated" on the board) where it does not. Above all it says which data it was
measured on: "ImageNet 64x64" names two datasets (van den Oord et al.'s
downsampled files, and the box-resized release of image-net.org by Chrabaszcz et
al.), whose numbers are not comparable. A row's `dataset` is the TFDS name that
holds the data the paper used, or, where the paper does not say which version,
a family name ('imagenet64') whose rows are shown apart and never ranked with a
run. Adding a row is one `Published(...)` entry in PUBLISHED.

Nothing here imports JAX or TensorFlow: the leaderboard reads this module.
"""

import dataclasses
import os
import re

VERSION_NOT_STATED = "version not stated"

# TFDS name -> the data it holds, as papers name them. The two ImageNet versions
# are the point: a run on one is never ranked with numbers on the other.
_OORD = ("van den Oord et al. (2016) downsampled ImageNet, the original files "
         "(TFDS downsampled_imagenet)")
_CHRABASZCZ = ("Chrabaszcz et al. (2017) box-resized ImageNet, image-net.org's "
               "release (TFDS imagenet_resized)")
DATA_VERSIONS = {
    "cifar10": "CIFAR-10 (Krizhevsky 2009), its one release",
    "mnist": "MNIST (LeCun et al. 1998), its one release",
    "downsampled_imagenet/32x32": _OORD,
    "downsampled_imagenet/64x64": _OORD,
    "imagenet_resized/32x32": _CHRABASZCZ,
    "imagenet_resized/64x64": _CHRABASZCZ,
}

# The family of datasets a name belongs to: what a paper's "ImageNet32" may be.
_FAMILY = re.compile(r"(?:downsampled_imagenet|imagenet_resized)/(\d+)x\1")

# Datasets by what their rows cite; a family name where the version is unknown.
CIFAR10 = "cifar10"
MNIST = "mnist"
IN32_OORD, IN64_OORD = "downsampled_imagenet/32x32", "downsampled_imagenet/64x64"
IN32_RESIZED, IN64_RESIZED = "imagenet_resized/32x32", "imagenet_resized/64x64"
IN32_NOT_STATED, IN64_NOT_STATED = "imagenet32", "imagenet64"

# The held-out split each dataset's published numbers are measured on: ImageNet
# (either version) has no labelled test split, so its papers report validation.
_SPLITS = {"cifar10": "test", "mnist": "test", "imagenet32": "validation",
           "imagenet64": "validation"}


@dataclasses.dataclass(frozen=True)
class Published:
  model: str              # flowzoo registry name, or the paper's model name.
  dataset: str            # a TFDS name of DATA_VERSIONS, or a family (not stated).
  bpd: float
  source: str             # paper and table.
  bound: str | None = None         # 'exact', 'elbo', 'iwbo-K'; None: not stated.
  dequantization: str | None = None  # 'uniform', 'variational', 'gaussian(sigma=S)'.
  params: int | None = None        # trainable parameters.
  variant: str = ""                # what sets this row apart (pretraining, baseline).
  corruption: str | None = None    # as a record's `corruption`.
  train_flops: float | None = None
  device_hours: float | None = None
  device_kind: str | None = None
  sampling_images_per_s: float | None = None
  sampling_batch: int | None = None
  sample_temperature: float | None = None  # of the paper's sample figures.
  fid: float | None = None
  fid_samples: int | None = None
  fid_temperature: float | None = None

  @property
  def version(self) -> str:
    """Which data the paper used, or VERSION_NOT_STATED."""
    return DATA_VERSIONS.get(self.dataset, VERSION_NOT_STATED)

  @property
  def split(self) -> str:
    return _SPLITS.get(family(self.dataset), "test")

  @property
  def version_stated(self) -> bool:
    return self.dataset in DATA_VERSIONS


_MIXERFLOW = "MixerFlow (English et al., arXiv 2310.16777)"
_JET = "Jet (Kolesnikov et al., TMLR, arXiv 2412.15129)"
_DENSEFLOW = "DenseFlow (Grcic et al., NeurIPS 2021)"
_GLOW = "Glow (Kingma & Dhariwal, NeurIPS 2018)"
_TARFLOW = "TarFlow (Zhai et al., ICML 2025, arXiv 2412.06329)"

# The corruption names of MixerFlow's permuted-data experiments.
GLOBAL_SHUFFLE = "global_shuffle"
LOCAL_SHUFFLE = "local_shuffle"

PUBLISHED = (
    # MixerFlow, density-estimation results: uniform dequantization, one sample
    # (section 4). The paper does not say which ImageNet version it used.
    Published("mixerflow", CIFAR10, 3.46, f"{_MIXERFLOW}, results table",
              "elbo", "uniform", 11_340_000),
    Published("mixerflow", IN32_NOT_STATED, 4.20, f"{_MIXERFLOW}, results table",
              "elbo", "uniform"),
    Published("mixerflow", IN64_NOT_STATED, 3.92, f"{_MIXERFLOW}, results table",
              "elbo", "uniform", 18_900_000),
    # MixerFlow Table 3: MAF as the flow layer of MixerFlow (MNIST: Table 9's
    # column, configs/mixerflow_mnist.py), beside MAF and MADE alone (Papamakarios
    # et al. 2017; Germain et al. 2015) as the paper reports them.
    Published("mixerflow", MNIST, 1.22, f"{_MIXERFLOW}, Table 3", "elbo", "uniform",
              variant="MAF flow layers"),
    Published("mixerflow", CIFAR10, 3.44, f"{_MIXERFLOW}, Table 3", "elbo", "uniform",
              variant="MAF flow layers"),
    Published("maf", MNIST, 1.89, f"{_MIXERFLOW}, Table 3", "elbo",
              variant="MAF alone, baseline in MixerFlow"),
    Published("maf", CIFAR10, 4.31, f"{_MIXERFLOW}, Table 3", "elbo",
              variant="MAF alone, baseline in MixerFlow"),
    Published("made", MNIST, 2.04, f"{_MIXERFLOW}, Table 3", "elbo",
              variant="MADE, baseline in MixerFlow"),
    Published("made", CIFAR10, 5.67, f"{_MIXERFLOW}, Table 3", "elbo",
              variant="MADE, baseline in MixerFlow"),
    # MixerFlow Table 8: four flow layers in the same 30-layer MixerFlow on MNIST,
    # 50K steps (experiments/mixerflow_flow_layers.py).
    Published("mixerflow", MNIST, 1.57, f"{_MIXERFLOW}, Table 8", "elbo", "uniform",
              3_100_000, "MLP (affine) coupling, 50K steps"),
    Published("mixerflow", MNIST, 1.48, f"{_MIXERFLOW}, Table 8", "elbo", "uniform",
              7_450_000, "KAN coupling, 50K steps"),
    Published("mixerflow", MNIST, 1.21, f"{_MIXERFLOW}, Table 8", "elbo", "uniform",
              5_280_000, "rational-quadratic spline coupling, 50K steps"),
    Published("mixerflow", MNIST, 1.56, f"{_MIXERFLOW}, Table 8", "elbo", "uniform",
              3_830_000, "MAF flow layers, 50K steps"),
    # Glow as MixerFlow's baseline (smaller than Glow's own CIFAR-10 model); the
    # paper states neither its dequantization nor the ImageNet version.
    Published("glow", CIFAR10, 3.51, f"{_MIXERFLOW}, results table", "elbo",
              params=11_020_000, variant="baseline in MixerFlow"),
    Published("glow", IN32_NOT_STATED, 4.32, f"{_MIXERFLOW}, results table",
              "elbo", params=11_020_000, variant="baseline in MixerFlow"),
    Published("glow", IN64_NOT_STATED, 3.94, f"{_MIXERFLOW}, results table",
              "elbo", params=37_040_000, variant="baseline in MixerFlow"),
    # MixerFlow Tables 4 and 5: pixels permuted over the whole image (global)
    # or within patches (local), CIFAR-10 / ImageNet32.
    Published("mixerflow", CIFAR10, 4.09, f"{_MIXERFLOW}, Table 4", "elbo",
              "uniform", variant="global shuffling", corruption=GLOBAL_SHUFFLE),
    Published("mixerflow", IN32_NOT_STATED, 4.91, f"{_MIXERFLOW}, Table 5",
              "elbo", "uniform", variant="global shuffling",
              corruption=GLOBAL_SHUFFLE),
    Published("glow", CIFAR10, 5.18, f"{_MIXERFLOW}, Table 4", "elbo",
              variant="global shuffling, baseline in MixerFlow",
              corruption=GLOBAL_SHUFFLE),
    Published("glow", IN32_NOT_STATED, 5.27, f"{_MIXERFLOW}, Table 5", "elbo",
              variant="global shuffling, baseline in MixerFlow",
              corruption=GLOBAL_SHUFFLE),
    Published("mixerflow", CIFAR10, 3.49, f"{_MIXERFLOW}, Table 4", "elbo",
              "uniform", variant="local shuffling", corruption=LOCAL_SHUFFLE),
    Published("mixerflow", IN32_NOT_STATED, 4.24, f"{_MIXERFLOW}, Table 5",
              "elbo", "uniform", variant="local shuffling",
              corruption=LOCAL_SHUFFLE),
    Published("glow", CIFAR10, 4.06, f"{_MIXERFLOW}, Table 4", "elbo",
              variant="local shuffling, baseline in MixerFlow",
              corruption=LOCAL_SHUFFLE),
    Published("glow", IN32_NOT_STATED, 4.49, f"{_MIXERFLOW}, Table 5", "elbo",
              variant="local shuffling, baseline in MixerFlow",
              corruption=LOCAL_SHUFFLE),
    # Glow's own CIFAR-10 run (L=3, K=32, width 512, additive 1/256 noise);
    # the parameter count is that of the openai/glow release, 44,603,604.
    Published("glow", CIFAR10, 3.35, f"{_GLOW}, Table 2", "elbo", "uniform",
              44_603_604, "L=3, K=32, width 512"),
    # Jet downsamples ImageNet-1k "following the standard protocol (Van den Oord
    # et al., 2016b)" (section 3, Datasets): the original version. Uniform
    # dequantization at train and eval.
    Published("jet", IN64_OORD, 3.656, f"{_JET}, results table; data: section 3",
              "elbo", "uniform", variant="ImageNet-1k"),
    Published("jet", IN32_OORD, 3.931, f"{_JET}, results table; data: section 3",
              "elbo", "uniform", variant="ImageNet-1k"),
    Published("jet", IN64_OORD, 3.580, f"{_JET}, results table; data: section 3",
              "elbo", "uniform",
              variant="ImageNet-21k pretraining, ImageNet-1k fine-tuning"),
    Published("jet", IN32_OORD, 3.857, f"{_JET}, results table; data: section 3",
              "elbo", "uniform",
              variant="ImageNet-21k pretraining, ImageNet-1k fine-tuning"),
    Published("jet", CIFAR10, 3.018, f"{_JET}, results table", "elbo",
              "uniform", variant="ImageNet-21k pretraining, CIFAR-10 fine-tuning"),
    # DenseFlow-74-10, variational dequantization and augmentation: the test
    # bound uses 1000 importance samples on CIFAR-10 and 200 on ImageNet. The
    # paper gives about 130M parameters for the ImageNet models. Its ImageNet is
    # image-net.org's box-resized release (matejgrcic/DenseFlow, issue #7).
    Published("denseflow", CIFAR10, 2.98, f"{_DENSEFLOW}, results table",
              "iwbo-1000", "variational", variant="DenseFlow-74-10"),
    Published("denseflow", IN32_RESIZED, 3.63,
              f"{_DENSEFLOW}, results table; data: matejgrcic/DenseFlow issue #7",
              "iwbo-200", "variational", 130_000_000,
              "DenseFlow-74-10, ~130M params"),
    Published("denseflow", IN64_RESIZED, 3.35,
              f"{_DENSEFLOW}, results table; data: matejgrcic/DenseFlow issue #7",
              "iwbo-200", "variational", 130_000_000,
              "DenseFlow-74-10, ~130M params"),
    # TarFlow, unconditional, trained with --noise_type=uniform and evaluated
    # with one uniform draw per image (apple/ml-tarflow evaluate_bpd.py). Its
    # data is the README's "imagenet64", linked to van den Oord et al. (arXiv
    # 1601.06759) and confirmed by the maintainers (apple/ml-tarflow issue #3).
    # 460,142,784 parameters: the release's model at patch 2, width 768, 8 flows
    # of 8 layers (transformer_flow.py), counted.
    Published("tarflow", IN64_OORD, 2.99,
              f"{_TARFLOW}, Table 2; data: apple/ml-tarflow README.md, issue #3",
              "elbo", "uniform", 460_142_784,
              "unconditional, patch 2, width 768, 8 flows x 8 layers"),
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
  so the leaderboard ranks runs by (dataset, version, shape) and shows the
  papers' numbers only beside runs at the native shape.
  """
  dataset = canonical_dataset(dataset)
  match = re.fullmatch(r"(?:downsampled_imagenet|imagenet_resized)/(\d+)x\1|"
                       r"imagenet(\d+)", dataset)
  if match:
    side = int(match.group(1) or match.group(2))
    return (side, side, 3)
  return _NATIVE_SHAPES.get(dataset)


def tfds_version(name: str) -> str | None:
  """The TFDS version written into a dataset name ('cifar10:3.0.2'), or None."""
  if is_folder(name):
    return None
  _, _, version = name.strip().partition(":")
  return version or None


def canonical_dataset(name: str) -> str:
  """flowzoo's TFDS name for a dataset spelling; unknown names pass through.

  The two ImageNet versions stay apart: 'imagenet_resized/32x32' is not
  'downsampled_imagenet/32x32'. A name that does not say which ('ImageNet32',
  'imagenet_32') becomes the family 'imagenet32', which as a filter matches
  both. A TFDS version ('cifar10:3.0.2') is dropped here; tfds_version reads
  it. 'folder:PATH' keeps its path as written: every folder is a dataset of its
  own (the trainer records PATH absolute).
  """
  if is_folder(name):
    path = name.strip()[len(FOLDER_PREFIX):].strip()
    if path and "://" not in path:
      # One spelling per folder: no trailing slash, no '.' or '..' parts.
      path = os.path.normpath(path)
    return FOLDER_PREFIX + path
  base = name.strip().split(":")[0].lower()
  match = re.fullmatch(r"(downsampled_imagenet|imagenet_resized)/(8|16|32|64)"
                       r"(?:x\2)?", base)
  if match:
    side = match.group(2)
    return f"{match.group(1)}/{side}x{side}"
  match = re.fullmatch(r"imagenet[/_-]?(8|16|32|64)(?:x\1)?", base)
  if match:
    return f"imagenet{match.group(1)}"
  if base in ("cifar-10", "cifar_10"):
    return "cifar10"
  return base


def family(dataset: str) -> str:
  """'imagenet64' for either ImageNet 64x64 version (or the family itself);
  any other dataset is a family of one."""
  dataset = canonical_dataset(dataset)
  match = _FAMILY.fullmatch(dataset)
  return f"imagenet{match.group(1)}" if match else dataset


def published_rows(dataset: str | None = None) -> list[Published]:
  """PUBLISHED, or its rows for a dataset: for a TFDS name its own rows, for a
  family ('imagenet64') every row of either version and of none stated."""
  if dataset is None:
    return list(PUBLISHED)
  wanted = canonical_dataset(dataset)
  if family(wanted) == wanted:
    return [p for p in PUBLISHED if family(p.dataset) == wanted]
  return [p for p in PUBLISHED if p.dataset == wanted]
