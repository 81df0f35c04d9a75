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
import tensorflow as tf

from flowzoo.data.config import check_config
from flowzoo.data.config import check_fields
from flowzoo.data.config import DATASETS
from flowzoo.data.config import default_config
from flowzoo.data.config import resolve_paths
from flowzoo.data.corruptions import CORRUPTIONS
from flowzoo.data.pipeline import Datasets
from flowzoo.data.pipeline import get_datasets
from flowzoo.data.shapes import FlowzooShapes
from flowzoo.data.sources import RESIZE_METHODS

# The input pipeline runs on CPU; TF must not claim accelerator memory that
# JAX needs. Too late (and moot) if TF already initialised its devices.
try:
  tf.config.set_visible_devices([], "GPU")
except RuntimeError:
  pass
