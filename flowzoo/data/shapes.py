"""flowzoo_shapes: a procedural image dataset that needs no download.

Each image is one coloured shape (disc, square, triangle, ring or striped square)
of random size, position, rotation and colour on a smooth two-colour gradient,
plus mild Gaussian noise. The shapes have anti-aliased edges and the noise keeps
the pixel distribution from being degenerate, so a flow has real structure to
learn and its samples are easy to judge by eye. The label (the shape kind) is
there for linear probes. Generation is vectorised numpy and seeded per split
and per chunk, so the dataset is the same bytes on every machine.
"""
import contextlib
import io

from etils import epath
import numpy as np
from PIL import Image
import tensorflow_datasets as tfds
from tensorflow_datasets.core.utils import tqdm_utils

from flowzoo import console

KINDS = ("disc", "square", "triangle", "ring", "stripes")
_SIZE = 32
_NUM = {"train": 20_000, "test": 2_000}
_SEED = {"train": 0, "test": 1}
_CHUNK = 2_000  # Bounds peak memory: every array below is [chunk, 32, 32].


def _signed_distance(kind, u, v, r, radius):
  """Approximate signed distance in pixels to a shape's edge, negative inside."""
  square = np.maximum(np.abs(u), np.abs(v)) - 0.8 * radius
  if kind == "disc":
    return r - radius
  if kind == "square":
    return square
  if kind == "triangle":  # Equilateral, circumradius `radius`: 3 half-planes.
    angles = np.pi / 2 + 2 * np.pi * np.arange(3) / 3
    return np.max([u * np.cos(a) + v * np.sin(a) for a in angles],
                  axis=0) - radius / 2
  if kind == "ring":
    return np.abs(r - 0.7 * radius) - 0.25 * radius
  if kind == "stripes":  # A square cut into bands at least 3 pixels wide.
    period = np.maximum(0.6 * radius, 3.0)
    bands = (np.abs((u / period) % 1.0 - 0.5) - 0.25) * period
    return np.maximum(square, bands)
  raise ValueError(kind)


def generate(num, seed, channels=3, size=_SIZE):
  """Returns (uint8 images [num, size, size, channels], int64 labels [num])."""
  rng = np.random.default_rng(seed)
  uniform = lambda low, high, shape: rng.uniform(low, high, shape).astype(
      np.float32)
  label = rng.integers(0, len(KINDS), num)
  center = uniform(0.3, 0.7, (2, num, 1, 1)) * size
  radius = uniform(0.15, 0.35, (num, 1, 1)) * size
  angle = uniform(0, 2 * np.pi, (num, 1, 1))
  yy, xx = np.mgrid[:size, :size].astype(np.float32) + 0.5
  dy, dx = yy - center[0], xx - center[1]
  u = np.cos(angle) * dx + np.sin(angle) * dy
  v = np.cos(angle) * dy - np.sin(angle) * dx
  r = np.hypot(dx, dy)
  dist = np.empty((num, size, size), np.float32)
  for k, kind in enumerate(KINDS):
    i = label == k
    dist[i] = _signed_distance(kind, u[i], v[i], r[i], radius[i])
  alpha = np.clip(0.5 - dist, 0, 1)[..., None]  # One-pixel soft edge.

  # The shape is light on a dark background or the reverse, so it never
  # vanishes into the gradient (also not in the grey variant).
  light = rng.random((num, 1, 1, 1)) < 0.5
  low, high = uniform(0, 0.45, (2, num, 1, 1, channels))
  bg0, bg1 = np.where(light, low, 1 - low), np.where(light, high, 1 - high)
  fg_dark = uniform(0, 0.45, (num, 1, 1, channels))
  fg = np.where(light, 1 - fg_dark, fg_dark)
  phi = uniform(0, 2 * np.pi, (num, 1, 1))
  t = np.clip(((xx - size / 2) * np.cos(phi) + (yy - size / 2) * np.sin(phi))
              / size + 0.5, 0, 1)[..., None]
  image = bg0 + (bg1 - bg0) * t
  image += (fg - image) * alpha
  image += 0.01 * rng.standard_normal(image.shape, np.float32)
  return np.clip(np.rint(image * 255), 0, 255).astype(np.uint8), label


class FlowzooShapesConfig(tfds.core.BuilderConfig):

  def __init__(self, *, channels, **kwargs):
    super().__init__(version="1.0.0", **kwargs)
    self.channels = channels


class FlowzooShapes(tfds.core.GeneratorBasedBuilder):
  """Coloured geometric shapes on gradients, generated offline (see module)."""

  VERSION = tfds.core.Version("1.0.0")
  # TFDS 4.9 finds a builder's source through `importlib_resources`, which it
  # only requires on Python < 3.9; naming the file keeps preparation offline
  # and free of that package.
  code_path = epath.Path(__file__)
  BUILDER_CONFIGS = [
      FlowzooShapesConfig(name="rgb", channels=3, description="32x32x3"),
      FlowzooShapesConfig(name="gray", channels=1, description="32x32x1"),
  ]

  def _info(self):
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(
                shape=(_SIZE, _SIZE, self.builder_config.channels)),
            "label": tfds.features.ClassLabel(names=KINDS),
        }),
        supervised_keys=("image", "label"),
    )

  def download_and_prepare(self, *args, **kwargs):
    # Generation needs nothing from the user and takes seconds: one line says
    # what happens instead of TFDS's banner and progress bars.
    console.say(f"preparing the embedded dataset {self.name}/{self.builder_config.name} in "
                f"{self.data_dir_root} (once, ~15 s)")
    with _progress_bars(False):
      super().download_and_prepare(*args, **kwargs)

  def _log_download_bytes(self):
    pass  # TFDS's "Downloading and preparing dataset Unknown size ...".

  def _log_download_done(self):
    pass  # TFDS's "Dataset ... downloaded and prepared to ...".

  def _split_generators(self, dl_manager):
    del dl_manager  # Nothing to download.
    return {split: self._generate_examples(split) for split in _NUM}

  def _generate_examples(self, split):
    for start in range(0, _NUM[split], _CHUNK):
      images, labels = generate(
          min(_CHUNK, _NUM[split] - start),
          seed=(_SEED[split], self.builder_config.channels, start),
          channels=self.builder_config.channels)
      for i, (image, label) in enumerate(zip(images, labels)):
        yield start + i, {"image": _png(image), "label": label}


@contextlib.contextmanager
def _progress_bars(enable):
  """TFDS's progress bars on or off inside the block, as they were after it."""
  # TFDS has a setter for the switch but no getter.
  before = getattr(tqdm_utils, "_active", True)
  tfds.display_progress_bar(enable)
  try:
    yield
  finally:
    tfds.display_progress_bar(before)


def _png(image):
  # PIL encodes a 32x32 PNG several times faster than the TF graph TFDS uses
  # for arrays, which keeps preparation well inside the 30 s budget.
  buffer = io.BytesIO()
  Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(
      buffer, format="png", compress_level=1)
  return buffer.getvalue()
