"""Defaults, validation and path resolution of config.data."""
import copy
import numbers

import ml_collections

from flowzoo import paths, published
from flowzoo.data import corruptions

# Names known to work, with what to expect. Any other TFDS name works too when
# its images have a fixed size equal to data.shape, or any size (then data.resize
# applies).
DATASETS = {
    "flowzoo_shapes/rgb": "32x32x3, 20k/2k, generated offline on first use",
    "flowzoo_shapes/gray": "32x32x1, 20k/2k, generated offline on first use",
    "mnist": "28x28x1, 60k/10k",
    "cifar10": "32x32x3, 50k/10k",
    "downsampled_imagenet/32x32": "32x32x3, eval_split='validation'",
    "downsampled_imagenet/64x64": "64x64x3, eval_split='validation'",
    "imagenet_resized/32x32": "32x32x3, eval_split='validation'",
    "imagenet_resized/64x64": "64x64x3, eval_split='validation'",
    published.FOLDER_PREFIX + "PATH": "PATH/train/ and PATH/test/ image files",
}
RESIZE_METHODS = ("resize", "center_crop")  # See sources.fit.


def default_config():
  """config.data defaults; configs start from this and override fields."""
  return ml_collections.ConfigDict(dict(
      # A TFDS name, 'folder:PATH', or the embedded 'flowzoo_shapes/{rgb,gray}'
      # (see DATASETS).
      name="flowzoo_shapes/rgb",
      # TFDS data directory; None is TFDS's default (~/tensorflow_datasets).
      # A typed placeholder, so --config.data.data_dir=DIR can set it.
      data_dir=ml_collections.config_dict.placeholder(str),
      # Whether a missing TFDS dataset may be downloaded and prepared. False
      # makes it an error that says how to provide it; flowzoo_shapes is
      # always prepared when missing, as it needs no network.
      download=False,
      # (H, W, C) of the uint8 images the model sees.
      shape=(32, 32, 3),
      # How images of another size reach `shape` (folders, and TFDS datasets
      # of varying size): 'resize' or 'center_crop' (see sources.fit).
      resize="resize",
      # Split names: TFDS splits or sub-splits ('train[:90%]'); for folders,
      # the subfolder names.
      train_split="train",
      eval_split="test",
      # Records held in the train shuffle buffer (undecoded, so cheap).
      shuffle_buffer=50_000,
      # MixerFlow's corruptions (arXiv 2310.16777, 5.4), on train and eval:
      # 'none' | 'local_shuffle' | 'global_shuffle'; see corruptions.py.
      corruption="none",
      corruption_seed=0,
      # Patch side for 'local_shuffle'; must divide H and W.
      corruption_patch=4,
      # Class labels with the images, for class-conditional models: a TFDS
      # dataset's ClassLabel feature ('label' if present); for a folder, the
      # subfolder of the split an image lies in (PATH/train/<class>/...).
      labels=False,
  ))


def check_fields(config, *, global_batch_size=None, eval_batch_size=None,
                 process_count=1):
  """Raises ValueError naming the bad field of config.data, its value and fix.

  Reads no dataset and touches no file, so the trainer runs it first, before
  anything (a model's checks included) relies on data.shape.
  """
  unknown = set(config) - set(default_config())
  if unknown:
    raise ValueError(f"Unknown fields data.{sorted(unknown)}; the fields are "
                     f"{sorted(default_config())} (flowzoo.data.config).")
  _check_name(config.name)
  if config.data_dir is not None and not (
      isinstance(config.data_dir, str) and config.data_dir):
    raise ValueError(f"data.data_dir={config.data_dir!r} must be a directory "
                     "path, or None for TFDS's default.")
  _check_shape(config.shape)
  shape = tuple(config.shape)
  if config.resize not in RESIZE_METHODS:
    raise ValueError(f"data.resize={config.resize!r} must be one of "
                     f"{RESIZE_METHODS}.")
  for field in ("train_split", "eval_split"):
    if not (isinstance(config[field], str) and config[field]):
      raise ValueError(f"data.{field}={config[field]!r} must be a split name "
                       "such as 'train', 'test' or 'train[:90%]'.")
  if config.corruption not in corruptions.CORRUPTIONS:
    raise ValueError(f"data.corruption={config.corruption!r} must be one of "
                     f"{corruptions.CORRUPTIONS}.")
  patch = config.corruption_patch
  if config.corruption == "local_shuffle" and not (
      _is_int(patch) and patch > 0 and shape[0] % patch == 0
      and shape[1] % patch == 0):
    raise ValueError(
        f"data.corruption_patch={patch!r} must be a positive divisor of H="
        f"{shape[0]} and W={shape[1]} for data.corruption='local_shuffle'.")
  if not (_is_int(config.shuffle_buffer) and config.shuffle_buffer > 0):
    raise ValueError(f"data.shuffle_buffer={config.shuffle_buffer!r} must be "
                     "a positive int.")
  for field, size in (("global_batch_size", global_batch_size),
                      ("eval_batch_size", eval_batch_size)):
    if size is not None and (size <= 0 or size % process_count):
      raise ValueError(
          f"{field}={size} must be a positive multiple of the process count "
          f"{process_count}: every process reads an equal share.")


def _is_int(value):
  return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_name(name):
  if not (isinstance(name, str) and name.strip()):
    raise ValueError(f"data.name={name!r} must be a TFDS name or "
                     f"'{published.FOLDER_PREFIX}PATH'; see flowzoo.data.DATASETS.")
  if name.startswith(published.FOLDER_PREFIX) and not name[
      len(published.FOLDER_PREFIX):].strip():
    raise ValueError(f"data.name={name!r} names no folder; write "
                     f"'{published.FOLDER_PREFIX}PATH' with PATH/train/ and "
                     "PATH/test/ holding the images.")


def _check_shape(shape):
  """data.shape must be (H, W, C): positive ints, C 1 (grey) or 3 (RGB)."""
  try:
    dims = tuple(shape)
  except TypeError:
    dims = None
  if (dims is not None and len(dims) == 3
      and all(_is_int(d) and d > 0 for d in dims) and dims[-1] in (1, 3)):
    return
  fix = "e.g. data.shape=(32, 32, 3)"
  if dims is not None and len(dims) == 2 and all(
      _is_int(d) and d > 0 for d in dims):
    fix = (f"add the channels: data.shape=({dims[0]}, {dims[1]}, 3) for RGB "
           f"or ({dims[0]}, {dims[1]}, 1) for grey")
  shown = dims if dims is not None else shape
  raise ValueError(
      f"data.shape={shown!r} must be (H, W, C): three positive ints, C 1 "
      f"(grey) or 3 (RGB); {fix}. On the command line: "
      "--config.data.shape='(32, 32, 3)'.")


def resolve_paths(config):
  """A copy of config.data with its local paths absolute; idempotent.

  A relative 'folder:PATH' or data.data_dir means the working directory of
  the moment, but a run's config is saved and read again (a resumed run,
  sampling, a sweep) from anywhere: the trainer resolves it once, at the
  start, and saves the result. `~` is expanded; URLs and None pass unchanged.
  """
  config = copy.deepcopy(config)
  name = config.name
  if isinstance(name, str) and name.startswith(published.FOLDER_PREFIX):
    path = name[len(published.FOLDER_PREFIX):]
    if path.strip():
      config.name = published.FOLDER_PREFIX + paths.resolve(path)
  if isinstance(config.data_dir, str) and config.data_dir:
    config.data_dir = paths.resolve(config.data_dir)
  return config

