"""Image datasets for flowzoo: TFDS, folders of files, and offline shapes.

    from flowzoo import data
    data.check_fields(config.data)                     # no I/O; ValueError
    config.data = data.resolve_paths(config.data)      # absolute, to save
    data.check_config(config.data)                     # cheap; ValueError
    ds = data.get_datasets(config.data, global_batch_size=256,
                           eval_batch_size=500, seed=config.seed,
                           process_index=jax.process_index(),
                           process_count=jax.process_count())
    batches = ds.train(start_step)      # endless uint8 [B/P, H, W, C]
    for images, mask in ds.eval():      # one pass, padded and masked
      ...
    # With data.labels=True: train batches are (images, labels), eval batches
    # (images, mask, labels), labels int32 in [0, ds.num_classes).

Images are uint8 at data.shape; dequantization belongs to the models.
config.data fields (defaults in `default_config()`):
  name              a TFDS name ('cifar10', 'mnist', 'downsampled_imagenet/64x64',
                    ...), 'folder:PATH' (PATH/train/, PATH/test/ image files),
                    or the embedded 'flowzoo_shapes/rgb' | 'flowzoo_shapes/gray'
                    (the default; generated offline). See DATASETS.
                    A relative PATH is relative to the working directory.
  data_dir          TFDS data directory; None for TFDS's default.
  download          may a missing TFDS dataset be downloaded (default False).
  shape             (H, W, C) the model sees.
  resize            'resize' | 'center_crop': how other sizes reach shape.
  train_split       'train'; eval_split: 'test' (ImageNet: 'validation').
  shuffle_buffer    train shuffle buffer, in records.
  corruption        'none' | 'local_shuffle' | 'global_shuffle' (MixerFlow,
                    arXiv 2310.16777, 5.4); corruption_seed; corruption_patch.
  labels            class labels with the images (TFDS ClassLabel; for a
                    folder, PATH/<split>/<class>/ subfolders).
"""
import importlib

from flowzoo.data.config import check_fields
from flowzoo.data.config import DATASETS
from flowzoo.data.config import default_config
from flowzoo.data.config import RESIZE_METHODS
from flowzoo.data.config import resolve_paths
from flowzoo.data.corruptions import CORRUPTIONS

# What reads data needs TensorFlow, whose import takes seconds and ~0.5 GiB in
# every process: it is imported when one of these is first used, so building,
# applying or sampling a model never imports it.
_READERS = {
    "check_config": "flowzoo.data.sources",
    "Datasets": "flowzoo.data.pipeline",
    "FlowzooShapes": "flowzoo.data.shapes",
    "get_datasets": "flowzoo.data.pipeline",
}


def __getattr__(name):
  if name in _READERS:
    return getattr(importlib.import_module(_READERS[name]), name)
  raise AttributeError(f"module 'flowzoo.data' has no attribute {name!r}")
