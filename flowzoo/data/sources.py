"""Where images come from: a TFDS builder or a folder of image files.

A source hands out undecoded records (encoded image bytes, or file paths) for
one process's share of a split and decodes them later, so the train pipeline
shuffles and skips cheap records and decodes only what it yields.
"""
import difflib
import os
import re

from etils import epath
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from flowzoo import paths, published
from flowzoo.data import config as config_lib
from flowzoo.data import shapes

FOLDER_PREFIX = published.FOLDER_PREFIX
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
LIST_TFDS_NAMES = ('python -c "import tensorflow_datasets as tfds; '
                   'print(tfds.list_builders())"')
TFDS_CATALOG = "https://www.tensorflow.org/datasets/catalog/overview"
# At most this many unreadable files are named in one error.
MAX_NAMED_FILES = 20

# The input pipeline runs on CPU; TF must not claim accelerator memory that
# JAX needs. Too late (and moot) if TF already initialised its devices.
try:
  tf.config.set_visible_devices([], "GPU")
except RuntimeError:
  pass


def _not_a_tfds_name(name, error):
  """A short ValueError for a name TFDS cannot build.

  TFDS's own error lists every dataset it knows (hundreds of lines), which
  buries the one line that matters; only the closest names are kept here.
  """
  base, _, rest = name.partition("/")
  base = base.split(":")[0]
  known = tfds.list_builders(with_community_datasets=False)
  how = (f"List TFDS names with `{LIST_TFDS_NAMES}` or at {TFDS_CATALOG}; "
         f"for a folder of images use data.name='{FOLDER_PREFIX}PATH'.")
  if base not in known:
    close = difflib.get_close_matches(base, known, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    return ValueError(
        f"data.name={name!r} is not a TFDS dataset.{hint} {how}")
  configs = [c.name for c in tfds.builder_cls(base).BUILDER_CONFIGS]
  config = rest.split(":")[0]
  if config and not configs:
    return ValueError(f"data.name={name!r}: TFDS dataset {base!r} has no "
                      f"configs; write data.name={base!r}. {how}")
  if configs and config not in configs:
    close = difflib.get_close_matches(config, configs, n=3, cutoff=0.5)
    names = [repr(f"{base}/{c}") for c in close or configs[:10]]
    more = (f" (and {len(configs) - len(names)} more)"
            if len(configs) > len(names) else "")
    hint = (f"did you mean {' or '.join(names)}?" if close else
            f"its configs are {', '.join(names)}{more}.")
    return ValueError(f"data.name={name!r}: TFDS dataset {base!r} has no "
                      f"config {config!r}; {hint} {how}")
  # A version or argument TFDS rejects: its first line says which (after a
  # preamble that repeats the name).
  first = (str(error).strip().splitlines() or [""])[0]
  first = re.sub(r"^Failed to construct dataset .*?\}\"?: ", "", first)
  return ValueError(f"data.name={name!r}: {first[:300]} {how}")


def _even_slice(n, index, count):
  """[start, stop) of shard `index`, the first n % count shards one larger.

  The same rule as tfds.even_splits, so folder and TFDS shards agree.
  """
  start = index * (n // count) + min(index, n % count)
  return start, start + n // count + (index < n % count)


class TfdsSource:
  """Any TFDS dataset; its first Image feature ('image' if present)."""

  def __init__(self, config):
    self.config = config
    self.data_dir = paths.resolve(config.data_dir)
    try:
      self.builder = tfds.builder(config.name, data_dir=self.data_dir)
    # AssertionError: a version TFDS does not have ('cifar10:9.9.9').
    except (ValueError, AssertionError) as e:
      raise _not_a_tfds_name(config.name, e) from None
    features = self.builder.info.features
    images = [k for k, f in features.items()
              if isinstance(f, tfds.features.Image)]
    if not images:
      raise ValueError(f"data.name={config.name!r} has no image feature.")
    self.key = "image" if "image" in images else images[0]
    self.feature = features[self.key]
    self.label_key = None
    if config.labels:
      labels = [k for k, f in features.items() if isinstance(f, tfds.features.ClassLabel)]
      if not labels:
        raise ValueError(f"data.labels=True, but data.name={config.name!r} has no class "
                         "label (ClassLabel feature); set data.labels=False.")
      self.label_key = "label" if "label" in labels else labels[0]
    # flowzoo_shapes is generated locally, so it never needs permission to
    # download.
    self.preparable = config.download or isinstance(
        self.builder, shapes.FlowzooShapes)

  @property
  def image_shape(self):
    return self.feature.shape  # (H, W, C), with None where sizes vary.

  def num_classes(self):
    return self.builder.info.features[self.label_key].num_classes

  def check_available(self):
    """Whether the splits can be read now (False: prepare() will make them).

    Raises a ValueError that says how to provide the dataset if it is
    missing and may not be prepared here.
    """
    if self.preparable and not self.is_prepared():
      return False
    try:
      # as_dataset rather than is_prepared(): it also works under
      # tfds.testing.mock_data, which fakes the data but not the files.
      self.builder.as_dataset(split=self.config.train_split)
    except AssertionError as e:
      name = self.config.name
      manual = getattr(self.builder, "MANUAL_DOWNLOAD_INSTRUCTIONS", None)
      raise ValueError(
          f"data.name={name!r} is not prepared in data_dir "
          f"{paths.resolve(self.builder.data_dir_root)} (data.data_dir="
          f"{self.config.data_dir!r}). Provide it in one of these ways: set "
          "data.download=True on a machine with network access; or run "
          f"`tfds build {name} --data_dir=DIR` (with --manual_dir=MANUAL for "
          "datasets you must download by hand) and set data.data_dir=DIR; or "
          "set data.data_dir to where it is already prepared."
          + (f"\nManual download: {manual}" if manual else "")) from e
    except ValueError as e:
      raise ValueError(f"data.train_split={self.config.train_split!r}: {e}"
                       ) from e
    return True

  def is_prepared(self):
    # What builder.is_prepared() checks, without the warning "Variant folder
    # ... has no dataset_info.json" that it logs whenever the answer is no.
    return (epath.Path(self.builder.data_path) / "dataset_info.json").exists()

  def prepare(self):
    if self.preparable and not self.is_prepared():
      try:
        self.builder.download_and_prepare()
      except Exception:
        # Another process may have finished preparing the same data_dir
        # first (TFDS renames a finished temporary directory into place).
        if not self.is_prepared():
          raise

  def num_examples(self, split, field):
    try:
      ds = self.builder.as_dataset(split=split)
    except ValueError as e:
      raise ValueError(f"{field}={split!r}: {e}") from e
    # Cardinality, not info.splits: mock_data leaves info.splits empty.
    return int(ds.cardinality())

  def read(self, split, process_index, process_count, shuffle_seed=None):
    # Images stay encoded until decode(). Not tfds.decode.PartialDecoding,
    # which would also skip parsing the other features (labels: cheap) but
    # reads the deprecated FeatureConnector.dtype, and warns, on every call.
    decoders = {k: tfds.decode.SkipDecoding()
                for k, f in self.builder.info.features.items()
                if isinstance(f, tfds.features.Image)}
    ds = self.builder.as_dataset(
        split=tfds.even_splits(split, process_count)[process_index],
        shuffle_files=shuffle_seed is not None,
        decoders=decoders,
        # Each train epoch builds a fresh pipeline, so TFDS's cache of small
        # datasets would only be filled and thrown away.
        read_config=tfds.ReadConfig(shuffle_seed=shuffle_seed,
                                    try_autocache=False))
    if self.label_key:
      return ds.map(lambda example: (example[self.key], example[self.label_key]))
    return ds.map(lambda example: example[self.key])

  def decode(self, record):
    return self.feature.decode_example(record)

  def unreadable(self, split):
    """[(file, reason)] of `split` that decode() fails on; TFDS: none known."""
    del split
    return []


class FolderSource:
  """'folder:PATH': PATH/<split>/ holds image files, at any depth; with data.labels,
  the subfolder of <split> a file lies in is its class (sorted names of the train
  split's subfolders, numbered from 0)."""

  def __init__(self, config):
    self.config = config
    # Absolute here, where the path enters: every later message names it so.
    self.root = paths.resolve(config.name[len(FOLDER_PREFIX):])
    self.image_shape = (None, None, None)  # Any size and channels; see fit().

  def _files(self, split, field):
    if not os.path.isdir(self.root):
      raise ValueError(f"data.name={self.config.name!r}: no directory "
                       f"{self.root}.")
    directory = os.path.join(self.root, split)
    if not os.path.isdir(directory):
      raise ValueError(
          f"{field}={split!r}: no folder {directory} (data.name="
          f"{self.config.name!r} needs subfolders named by data.train_split "
          "and data.eval_split).")
    files = sorted(
        os.path.join(parent, f) for parent, _, names in os.walk(directory)
        for f in names if f.lower().endswith(IMAGE_EXTENSIONS))
    if not files:
      raise ValueError(f"{field}={split!r}: no {IMAGE_EXTENSIONS} files "
                       f"under {directory}.")
    return files

  def check_available(self):
    self._files(self.config.train_split, "data.train_split")
    if self.config.labels:
      self._labels(self.config.eval_split, "data.eval_split")
    return True

  def prepare(self):
    pass

  def num_examples(self, split, field):
    return len(self._files(split, field))

  def classes(self):
    """The class names: the train split's subfolders, sorted."""
    directory = os.path.join(self.root, self.config.train_split)
    names = sorted(d for d in os.listdir(directory)
                   if os.path.isdir(os.path.join(directory, d)))
    if not names:
      raise ValueError(f"data.labels=True, but {directory} has no subfolders: put the "
                       "images of each class in a subfolder named by the class "
                       "(train/<class>/...), or set data.labels=False.")
    return names

  def num_classes(self):
    return len(self.classes())

  def _labels(self, split, field):
    """The class index of every file of `split`, in _files order."""
    classes = {name: i for i, name in enumerate(self.classes())}
    directory = os.path.join(self.root, split)
    labels = []
    for f in self._files(split, field):
      name = os.path.relpath(f, directory).split(os.sep)[0]
      if name not in classes:
        raise ValueError(f"{f} lies in no class subfolder of the train split "
                         f"({sorted(classes)}); move it into one, or set "
                         "data.labels=False.")
      labels.append(classes[name])
    return labels

  def read(self, split, process_index, process_count, shuffle_seed=None):
    files = self._files(split, "split")
    records = (files, self._labels(split, "split")) if self.config.labels else (files,)
    start, stop = _even_slice(len(files), process_index, process_count)
    records = [column[start:stop] for column in records]
    if shuffle_seed is not None:  # Paths are small: shuffle them all exactly.
      order = np.random.default_rng(shuffle_seed).permutation(stop - start)
      records = [[column[i] for i in order] for column in records]
    return tf.data.Dataset.from_tensor_slices(
        tuple(records) if self.config.labels else records[0])

  def decode(self, record):
    return tf.io.decode_image(tf.io.read_file(record),
                              channels=self.config.shape[-1],
                              expand_animations=False)

  def unreadable(self, split):
    """[(file, reason)] for the files of `split` that decode() fails on.

    Runs only after the pipeline failed, so it may read the whole split: it
    decodes every file with decode() itself, in parallel, and keeps the
    indices that come through; the missing ones are the culprits.
    """
    files = self._files(split, "split")
    ds = tf.data.Dataset.from_tensor_slices((tf.range(len(files)), files))
    ds = ds.map(lambda i, f: (i, tf.size(self.decode(f))),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    readable = {i for i, _ in ds.ignore_errors().as_numpy_iterator()}
    bad = [f for i, f in enumerate(files) if i not in readable]
    return [(f, _decode_error(self.decode, f)) for f in bad[:MAX_NAMED_FILES]
            ] + [(f, None) for f in bad[MAX_NAMED_FILES:]]


def _decode_error(decode, path):
  """TF's reason why decode(path) fails, without its op and device names."""
  try:
    decode(tf.constant(path))
  except tf.errors.OpError as e:
    reason = re.sub(r"\{\{[^}]*\}\}|\[Op:.*$", "", e.message, flags=re.S)
    return " ".join(reason.split())
  return "decodes now; it failed in the pipeline"


def get_source(config):
  if config.name.startswith(FOLDER_PREFIX):
    return FolderSource(config)
  return TfdsSource(config)


def check_config(config, *, global_batch_size=None, eval_batch_size=None,
                 process_count=1, num_classes=None):
  """check_fields, then that the dataset exists and fits data.shape (and, with
  data.labels, has `num_classes` classes, the model's).

  Cheap (no data is read or generated), so mains call it before compiling.
  """
  source = checked_source(config, global_batch_size=global_batch_size,
                          eval_batch_size=eval_batch_size, process_count=process_count)
  if config.labels and num_classes is not None and source.num_classes() != num_classes:
    raise ValueError(f"config.model.num_classes={num_classes}, but data.name={config.name!r} "
                     f"has {source.num_classes()} classes; set config.model.num_classes="
                     f"{source.num_classes()}.")


def checked_source(config, **batching):
  """check_config, returning the dataset's source for get_datasets."""
  config_lib.check_fields(config, **batching)
  source = get_source(config)
  readable = source.check_available()
  if any(d is not None and d != want
         for d, want in zip(source.image_shape, config.shape)):
    raise ValueError(
        f"data.shape={tuple(config.shape)} but data.name={config.name!r} has "
        f"images of shape {tuple(source.image_shape)}; set data.shape to it.")
  if readable:  # Else get_datasets checks the splits once it has prepared them.
    source.num_examples(config.train_split, "data.train_split")
    source.num_examples(config.eval_split, "data.eval_split")
  return source


def fit(image, shape, method):
  """Brings a uint8 image of any size to `shape` [H, W, C].

  'resize' scales each axis to the target (aspect ratio may change);
  'center_crop' first takes the largest central window with the target's
  aspect ratio, then scales it, so nothing is distorted.
  """
  h, w = shape[:2]
  if method == "center_crop":
    size = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = tf.minimum(size[0] / h, size[1] / w)
    crop = tf.cast(tf.round(tf.constant([h, w], tf.float32) * scale), tf.int32)
    offset = (tf.shape(image)[:2] - crop) // 2
    image = tf.slice(image, tf.concat([offset, [0]], 0),
                     tf.concat([crop, [-1]], 0))
  elif method != "resize":
    raise ValueError(f"Unknown resize {method!r}; one of {config_lib.RESIZE_METHODS}.")
  image = tf.image.resize(image, (h, w), method="bilinear", antialias=True)
  return tf.ensure_shape(tf.cast(tf.clip_by_value(tf.round(image), 0, 255),
                                 tf.uint8), shape)
