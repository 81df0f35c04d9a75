"""tf.data pipelines: a resumable train stream and an exactly-once eval pass."""
import itertools
import math

import jax
import numpy as np
import tensorflow as tf

from flowzoo.data import corruptions
from flowzoo.data import sources


class Datasets:
  """One process's view of the train and eval splits (see get_datasets)."""

  def __init__(self, config, source, *, global_batch_size, eval_batch_size,
               seed, process_index, process_count):
    self._config = config
    self._source = source
    self._seed = seed
    self._process = (process_index, process_count)
    self.shape = tuple(config.shape)
    self.labels = config.labels
    self.num_classes = source.num_classes() if config.labels else None
    self.num_train = source.num_examples(config.train_split, "data.train_split")
    self.num_eval = source.num_examples(config.eval_split, "data.eval_split")
    self.train_batch_size = global_batch_size // process_count
    self.eval_batch_size = eval_batch_size // process_count
    # Every process reads its own shard (at least num // count records), and
    # all of them agree on the epoch length and on the number of eval batches.
    self.steps_per_epoch = (self.num_train // process_count
                            ) // self.train_batch_size
    if not self.steps_per_epoch:
      raise ValueError(
          f"global_batch_size={global_batch_size} is larger than the "
          f"{self.num_train} images of data.train_split={config.train_split!r}.")
    self.num_eval_batches = math.ceil(
        math.ceil(self.num_eval / process_count) / self.eval_batch_size)
    self._perm = corruptions.pixel_permutation(
        self.shape, config.corruption, config.corruption_seed,
        config.corruption_patch)

  def _decode(self, record, label=None):
    """The uint8 image of a record, and its int32 class when the data has labels."""
    image = self._source.decode(record)
    if image.shape != self.shape:
      image = sources.fit(image, self.shape, self._config.resize)
    if self._perm is not None:  # See corruptions.pixel_permutation.
      h, w, c = self.shape
      image = tf.reshape(tf.gather(tf.reshape(image, [h * w, c]), self._perm), self.shape)
    return image if label is None else (image, tf.cast(label, tf.int32))

  def train(self, start_step=0):
    """Endless uint8 batches [global_batch // process_count, H, W, C] (with data.labels,
    (images, int32 labels [batch]) pairs).

    Epoch e is this process's shard in an order seeded by (seed, e), cut to
    steps_per_epoch whole batches, so batch k is a function of (seed, k) and
    train(k) continues train(0) exactly from its k-th batch.
    """
    epoch, skip = divmod(start_step, self.steps_per_epoch)
    for epoch in itertools.count(epoch):
      yield from self._naming_bad_files(
          self._train_epoch(epoch, skip).as_numpy_iterator(), "train_split")
      skip = 0

  def _train_epoch(self, epoch, skip):
    seed = int(np.random.SeedSequence([self._seed, epoch]).generate_state(1)[0])
    batch = self.train_batch_size
    ds = self._source.read(self._config.train_split, *self._process,
                           shuffle_seed=seed)
    ds = ds.shuffle(self._config.shuffle_buffer, seed=seed)
    # Resuming costs reading and shuffling the undecoded records of the
    # batches skipped in the current epoch (at most one epoch), no decoding.
    ds = ds.take(self.steps_per_epoch * batch).skip(skip * batch)
    ds = ds.map(self._decode, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE)

  def eval(self):
    """One pass over the eval split: (uint8 images, bool mask) batches, and with
    data.labels (images, mask, int32 labels).

    Zero images with mask False pad this process's shard to num_eval_batches
    batches, the same on every process, so collectives line up; every image
    of the split is masked in exactly once over all processes.
    """
    batch = self.eval_batch_size
    ds = self._source.read(self._config.eval_split, *self._process)
    def example(*record):
      if self.labels:
        image, label = self._decode(*record)
        return image, True, label
      return self._decode(*record), True
    ds = ds.map(example, num_parallel_calls=tf.data.AUTOTUNE)
    padding = tf.data.Dataset.from_tensors(
        (tf.zeros(self.shape, tf.uint8), False)
        + ((tf.zeros((), tf.int32),) if self.labels else ())).repeat()
    ds = ds.concatenate(padding).take(self.num_eval_batches * batch)
    return self._naming_bad_files(
        ds.batch(batch).prefetch(tf.data.AUTOTUNE).as_numpy_iterator(),
        "eval_split")

  def _naming_bad_files(self, batches, field):
    """Yields `batches`; a file that fails to decode is named, not skipped.

    tf.data reports a failed decode deep inside the pipeline without saying
    which record; then the source is asked for the culprits of the split.
    Skipping them would silently change the data between runs, so it fails.
    """
    try:
      yield from batches
    except tf.errors.OpError as e:
      split = self._config[field]
      bad = self._source.unreadable(split)
      if not bad:
        raise
      shown = [f"  {path}" + (f": {reason}" if reason else "")
               for path, reason in bad[:sources.MAX_NAMED_FILES]]
      if len(bad) > len(shown):
        shown.append(f"  ... and {len(bad) - len(shown)} more")
      files, it = ("1 file", "it") if len(bad) == 1 else (
          f"{len(bad)} files", "them")
      raise ValueError(
          f"data.name={self._config.name!r}: {files} of data.{field}="
          f"{split!r} cannot be decoded as images:\n" + "\n".join(shown)
          + f"\nRemove or replace {it} (flowzoo skips no image, so that every "
          "run sees the same data).") from e


def get_datasets(config, *, global_batch_size, eval_batch_size, seed,
                 process_index=None, process_count=None):
  """Checks config.data, prepares the dataset if allowed, returns Datasets."""
  if process_index is None:
    process_index = jax.process_index()
  if process_count is None:
    process_count = jax.process_count()
  source = sources.checked_source(
      config, global_batch_size=global_batch_size,
      eval_batch_size=eval_batch_size, process_count=process_count)
  source.prepare()
  return Datasets(config, source, global_batch_size=global_batch_size,
                  eval_batch_size=eval_batch_size, seed=seed,
                  process_index=process_index, process_count=process_count)
