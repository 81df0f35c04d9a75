"""Tests of flowzoo.data: offline datasets, resumable order, exact eval."""
import collections
import os
import pathlib
import subprocess
import sys

import numpy as np
from PIL import Image
import pytest
import tensorflow_datasets as tfds

from flowzoo import data
from flowzoo.data import corruptions
from flowzoo.data import shapes


NO_TENSORFLOW = """
import sys
import flowzoo, flowzoo.evaluate, flowzoo.models, flowzoo.sample, flowzoo.train
from flowzoo import data
config = flowzoo.load_config("configs/jet_quickstart.py")
data.check_fields(config.data)
flowzoo.models.abstract_variables(flowzoo.build_model(config), config.data.shape)
assert "tensorflow" not in sys.modules, "TensorFlow was imported"
"""


def test_only_reading_data_imports_tensorflow():
  # TensorFlow holds ~0.5 GiB in every process that imports it.
  result = subprocess.run([sys.executable, "-c", NO_TENSORFLOW], capture_output=True, text=True,
                          timeout=120, cwd=pathlib.Path(__file__).parents[1], check=False)
  assert result.returncode == 0, result.stderr


def make_config(data_dir, **overrides):
  config = data.default_config()
  config.data_dir = data_dir
  config.shuffle_buffer = 1000  # Small: fast to fill, order still seeded.
  config.update(overrides)
  return config


def get(config, batch=64, eval_batch=300, seed=0, index=0, count=1):
  return data.get_datasets(config, global_batch_size=batch,
                           eval_batch_size=eval_batch, seed=seed,
                           process_index=index, process_count=count)


@pytest.fixture(scope="session")
def shapes_dir(tmp_path_factory):
  """A data_dir where get_datasets prepared flowzoo_shapes/rgb, once."""
  data_dir = str(tmp_path_factory.mktemp("tfds"))
  data.check_config(make_config(data_dir))  # Missing but preparable: fine,
  assert not os.listdir(data_dir)           # and checking wrote nothing.
  get(make_config(data_dir))
  return data_dir


def take(iterator, n):
  return [next(iterator) for _ in range(n)]


def as_multiset(images):
  return collections.Counter(image.tobytes() for image in images)


def split_images(data_dir, split):
  builder = tfds.builder("flowzoo_shapes/rgb", data_dir=data_dir)
  return np.stack([x["image"] for x in tfds.as_numpy(builder.as_dataset(split))])


def test_shapes_dataset_offline_and_deterministic(shapes_dir):
  builder = tfds.builder("flowzoo_shapes/rgb", data_dir=shapes_dir)
  assert builder.info.splits["train"].num_examples == 20_000
  assert builder.info.splits["test"].num_examples == 2_000
  example = next(iter(tfds.as_numpy(builder.as_dataset("test"))))
  assert example["image"].shape == (32, 32, 3)
  assert example["image"].dtype == np.uint8
  assert 0 <= example["label"] < len(shapes.KINDS)
  # The stored test split (one chunk) is exactly what the seeded generator
  # makes, so every machine prepares the same bytes.
  images, labels = shapes.generate(2_000, seed=(1, 3, 0))
  assert as_multiset(split_images(shapes_dir, "test")) == as_multiset(images)
  np.testing.assert_array_equal(images, shapes.generate(2_000, (1, 3, 0))[0])
  assert set(labels) == set(range(len(shapes.KINDS)))
  gray, _ = shapes.generate(8, seed=0, channels=1)
  assert gray.shape == (8, 32, 32, 1) and gray.std() > 10  # Not blank.


def test_get_datasets_shapes_and_sizes(shapes_dir):
  ds = get(make_config(shapes_dir), batch=64, eval_batch=300)
  assert ds.shape == (32, 32, 3)
  assert (ds.num_train, ds.num_eval) == (20_000, 2_000)
  batch = next(ds.train(0))
  assert batch.shape == (64, 32, 32, 3) and batch.dtype == np.uint8


def test_resume_continues_the_same_order_across_epochs(shapes_dir):
  config = make_config(shapes_dir, train_split="train[:640]")
  ds = get(config, batch=64)
  assert ds.steps_per_epoch == 10
  batches = take(ds.train(0), 13)
  resumed = take(get(config, batch=64).train(9), 4)
  for a, b in zip(batches[9:], resumed):
    np.testing.assert_array_equal(a, b)
  # Each epoch is a permutation of the split, reshuffled per epoch.
  epochs = np.concatenate(batches[:10]), np.concatenate(batches[10:13])
  assert len(as_multiset(epochs[0])) == 640
  assert not np.array_equal(epochs[0][:192], epochs[1])
  assert as_multiset(epochs[1]) <= as_multiset(epochs[0])
  other_seed = next(get(config, batch=64, seed=1).train(0))
  assert not np.array_equal(batches[0], other_seed)


def test_process_shards_are_disjoint(shapes_dir):
  config = make_config(shapes_dir, train_split="train[:1000]")
  shards = [take(get(config, batch=64, index=i, count=2).train(0), 3)
            for i in range(2)]
  for a, b in zip(*shards):
    assert a.shape == b.shape == (32, 32, 32, 3)
    assert not set(as_multiset(a)) & set(as_multiset(b))


@pytest.mark.parametrize("count", [1, 2])
def test_eval_sees_every_image_exactly_once(shapes_dir, count):
  config = make_config(shapes_dir)
  seen, num_batches = collections.Counter(), []
  for index in range(count):
    batches = list(get(config, eval_batch=300, index=index,
                       count=count).eval())
    num_batches.append(len(batches))
    for images, mask in batches:
      assert images.shape == (300 // count, 32, 32, 3) and mask.dtype == bool
      assert not images[~mask].any()  # Padding is zeros.
      seen.update(as_multiset(images[mask]))
  assert len(set(num_batches)) == 1  # Collectives need equal counts.
  assert seen == as_multiset(split_images(shapes_dir, "test"))


def test_tfds_names_through_mock_data(tmp_path):
  with tfds.testing.mock_data(num_examples=40):
    config = make_config(str(tmp_path), name="cifar10")
    ds = get(config, batch=8, eval_batch=16, count=2)
    assert next(ds.train(0)).shape == (4, 32, 32, 3)
    images, mask = next(ds.eval())
    assert images.shape == (8, 32, 32, 3) and mask.all()
    mnist = make_config(str(tmp_path), name="mnist", shape=(28, 28, 1))
    assert next(get(mnist, batch=8).train(0)).shape == (8, 28, 28, 1)
    mnist.shape = (32, 32, 3)
    with pytest.raises(ValueError, match=r"data\.shape"):
      data.check_config(mnist)
    # Images of any size (here random ones) are brought to data.shape.
    imagenet = make_config(str(tmp_path), name="downsampled_imagenet/64x64",
                           shape=(64, 64, 3), eval_split="validation")
    assert next(get(imagenet, batch=8).train(0)).shape == (8, 64, 64, 3)


def test_missing_dataset_says_how_to_provide_it(tmp_path):
  config = make_config(str(tmp_path), name="mnist", shape=(28, 28, 1))
  for call in (data.check_config, lambda c: get(c)):
    with pytest.raises(ValueError) as error:
      call(config)
    for hint in ("data.name='mnist'", "data.download=True", "tfds build",
                 "data.data_dir"):
      assert hint in str(error.value)
  assert not os.listdir(tmp_path)  # Nothing was downloaded.


def write_png(path, array):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  Image.fromarray(array).save(path)


def test_folder_resize_and_center_crop(tmp_path):
  rng = np.random.default_rng(0)
  wide = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)
  flat = np.full((64, 40, 3), (10, 200, 30), np.uint8)
  write_png(tmp_path / "train" / "a" / "wide.png", wide)
  write_png(tmp_path / "train" / "b" / "flat.png", flat)
  for i in range(3):
    write_png(tmp_path / "test" / f"{i}.png", wide)
  name = f"folder:{tmp_path}"

  crop = get(make_config(None, name=name, resize="center_crop"), batch=2,
             eval_batch=2)
  assert (crop.num_train, crop.num_eval) == (2, 3)
  # Files are sorted: 'a/wide.png' before 'b/flat.png'.
  cropped = next(crop.eval())[0]
  np.testing.assert_array_equal(cropped[0], wide[:, 8:40])
  masks = [mask.tolist() for _, mask in crop.eval()]
  assert masks == [[True, True], [True, False]]
  train = as_multiset(next(crop.train(0)))
  assert train[np.broadcast_to(flat[0, 0], (32, 32, 3)).tobytes()] == 1

  resized, _ = next(get(make_config(None, name=name), batch=2,
                        eval_batch=2).eval())
  assert resized.shape == (2, 32, 32, 3)
  assert not np.array_equal(resized[0], wide[:, 8:40])  # Squashed, not cut.
  gray = get(make_config(None, name=name, shape=(16, 16, 1)), batch=2)
  assert next(gray.train(0)).shape == (2, 16, 16, 1)


@pytest.mark.parametrize("corruption", ["local_shuffle", "global_shuffle"])
def test_corruption_is_one_fixed_pixel_permutation(shapes_dir, corruption):
  config = make_config(shapes_dir, train_split="train[:640]")
  corrupt = make_config(shapes_dir, train_split="train[:640]",
                        corruption=corruption, corruption_seed=3)
  perm = corruptions.pixel_permutation((32, 32, 3), corruption, 3, 4)
  assert sorted(perm) == list(range(32 * 32))
  clean_batches = take(get(config).train(0), 2) + [next(get(config).eval())[0]]
  bad_batches = take(get(corrupt).train(0), 2) + [next(get(corrupt).eval())[0]]
  for clean, bad in zip(clean_batches, bad_batches):
    # Pixels move with their channels, by the same permutation everywhere.
    np.testing.assert_array_equal(
        bad, clean.reshape(-1, 32 * 32, 3)[:, perm].reshape(clean.shape))
    np.testing.assert_array_equal(np.sort(bad.reshape(len(bad), -1), 1),
                                  np.sort(clean.reshape(len(clean), -1), 1))
  np.testing.assert_array_equal(
      perm, corruptions.pixel_permutation((32, 32, 3), corruption, 3, 4))
  assert not np.array_equal(
      perm, corruptions.pixel_permutation((32, 32, 3), corruption, 4, 4))


def test_local_shuffle_permutes_patches_and_pixels_within(patch=4, size=16):
  perm = corruptions.pixel_permutation((size, size, 1), "local_shuffle", 0,
                                       patch)
  rows, cols = np.divmod(perm, size)  # Source pixel of every output pixel.
  grid = lambda a: a.reshape(size // patch, patch, size // patch, patch
                             ).transpose(0, 2, 1, 3).reshape(-1, patch * patch)
  source_patch = grid((rows // patch) * (size // patch) + cols // patch)
  offset = grid((rows % patch) * patch + cols % patch)
  # Every output patch comes whole from one source patch, all of them used.
  assert (source_patch == source_patch[:, :1]).all()
  assert sorted(source_patch[:, 0]) == list(range((size // patch) ** 2))
  # The same permutation inside every patch, and not the identity.
  assert (offset == offset[:1]).all()
  assert sorted(offset[0]) == list(range(patch * patch))
  assert list(offset[0]) != list(range(patch * patch))


@pytest.mark.parametrize("overrides, batching, field", [
    (dict(name="no_such_dataset"), {}, "data.name"),
    (dict(name="flowzoo_shapes/cmyk"), {}, "data.name"),
    (dict(name="folder:/no/such/dir"), {}, "data.name"),
    (dict(name="folder:"), {}, "data.name"),
    (dict(data_dir=""), {}, "data.data_dir"),
    (dict(eval_split=""), {}, "data.eval_split"),
    (dict(shape=(32, 32)), {}, "data.shape"),
    (dict(shape=(16, 16, 3)), {}, "data.shape"),
    (dict(resize="stretch"), {}, "data.resize"),
    (dict(corruption="blur"), {}, "data.corruption"),
    (dict(corruption="local_shuffle", corruption_patch=5), {},
     "data.corruption_patch"),
    (dict(shuffle_buffer=0), {}, "data.shuffle_buffer"),
    (dict(shuffle_bufer=10), {}, "shuffle_bufer"),
    ({}, dict(global_batch_size=63, process_count=2), "global_batch_size"),
    ({}, dict(eval_batch_size=5, process_count=2), "eval_batch_size"),
])
def test_check_config_names_the_field(tmp_path, overrides, batching, field):
  config = make_config(str(tmp_path))
  with config.unlocked():
    for key, value in overrides.items():
      config[key] = value
  with pytest.raises(ValueError, match=field.replace(".", r"\.")):
    data.check_config(config, **batching)


def test_bad_split_and_oversized_batch_name_the_field(shapes_dir):
  for field in ("train_split", "eval_split"):
    config = make_config(shapes_dir, **{field: "validation"})
    with pytest.raises(ValueError, match=rf"data\.{field}='validation'"):
      data.check_config(config)
  with pytest.raises(ValueError, match="global_batch_size"):
    get(make_config(shapes_dir, train_split="train[:10]"), batch=16)


def test_unknown_tfds_name_is_one_short_message(tmp_path):
  # TFDS's own error lists every dataset it knows: hundreds of lines.
  config = make_config(str(tmp_path), name="cifar100000")
  with pytest.raises(ValueError) as error:
    data.check_config(config)
  message = str(error.value)
  assert len(message) < 600 and len(message.splitlines()) < 5, message
  for hint in ("data.name='cifar100000'", "'cifar100'", "tfds.list_builders()",
               "folder:PATH"):
    assert hint in message
  # A known dataset with an unknown config suggests its configs.
  config.name = "downsampled_imagenet/63x63"
  with pytest.raises(ValueError, match="downsampled_imagenet/64x64") as error:
    data.check_config(config)
  assert len(str(error.value)) < 600


def write_corrupt_folder(root):
  """root/{train,test}/: three small PNGs and garbage named bad.png each."""
  rng = np.random.default_rng(0)
  for split in ("train", "test"):
    for i in range(3):
      write_png(root / split / f"{i}.png",
                rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
    (root / split / "sub").mkdir()
    (root / split / "sub" / "bad.png").write_bytes(b"not an image" * 8)


def test_corrupt_folder_image_is_named_not_skipped(tmp_path, monkeypatch):
  write_corrupt_folder(tmp_path / "imgs")
  monkeypatch.chdir(tmp_path)  # A relative folder: messages name it absolute.
  ds = get(make_config(None, name="folder:imgs", shape=(8, 8, 3)), batch=2,
           eval_batch=2)
  with pytest.raises(ValueError) as error:
    take(ds.train(0), 2 * ds.steps_per_epoch)  # The bad file is in there.
  message = str(error.value)
  assert str(tmp_path / "imgs" / "train" / "sub" / "bad.png") in message
  assert "1 file of data.train_split='train'" in message
  assert "Remove or replace it" in message
  assert "0.png" not in message  # Only the culprit.
  with pytest.raises(ValueError,
                     match=str(tmp_path / "imgs" / "test" / "sub" / "bad.png")):
    list(ds.eval())


def test_resolve_paths_makes_local_paths_absolute(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  config = make_config("tfds", name="folder:imgs/./")
  resolved = data.resolve_paths(config)
  assert resolved.name == f"folder:{tmp_path}/imgs"
  assert resolved.data_dir == str(tmp_path / "tfds")
  assert (config.name, config.data_dir) == ("folder:imgs/./", "tfds")  # A copy.
  monkeypatch.chdir("/")
  again = data.resolve_paths(resolved)  # Idempotent, from anywhere.
  assert (again.name, again.data_dir) == (resolved.name, resolved.data_dir)
  for name, data_dir in (("cifar10", None), ("mnist", "gs://bucket/tfds")):
    same = data.resolve_paths(make_config(data_dir, name=name))
    assert (same.name, same.data_dir) == (name, data_dir)
  home = data.resolve_paths(make_config("~/tfds"))
  assert home.data_dir == os.path.expanduser("~/tfds")


def test_relative_folder_works_from_its_parent_and_resolved_from_anywhere(
    tmp_path, monkeypatch):
  for split in ("train", "test"):
    for i in range(2):
      write_png(tmp_path / "imgs" / split / f"{i}.png",
                np.full((4, 4, 3), i, np.uint8))
  config = make_config(None, name="folder:imgs", shape=(4, 4, 3))
  monkeypatch.chdir(tmp_path)
  resolved = data.resolve_paths(config)
  assert next(get(config, batch=2).train(0)).shape == (2, 4, 4, 3)
  monkeypatch.chdir("/")
  assert next(get(resolved, batch=2).train(0)).shape == (2, 4, 4, 3)
  with pytest.raises(ValueError, match="no directory /imgs"):
    data.check_config(config)  # Relative to the new cwd, and said so.


@pytest.mark.parametrize("shape, fix", [
    ((32, 32), "data.shape=(32, 32, 3)"),
    ((32, 32, 2), "C 1"),
    ((0, 32, 3), "positive"),
    ((32.0, 32, 3), "ints"),
    ((32, 32, 3, 1), "(H, W, C)"),
])
def test_check_fields_rejects_bad_shapes_without_reading_data(shape, fix):
  # name: a dataset that does not exist, so any dataset access would fail
  # differently; check_fields looks at the fields only.
  config = make_config("/no/such/dir", name="no_such_dataset")
  config.shape = shape
  with pytest.raises(ValueError) as error:
    data.check_fields(config)
  message = str(error.value)
  assert message.startswith(f"data.shape={shape}") and "(H, W, C)" in message
  assert fix in message
  config.shape = (16, 16, 1)
  data.check_fields(config)  # Fine: the name is not its business.


def test_preparing_shapes_prints_one_line_and_no_progress(tmp_path, capfd,
                                                          caplog, monkeypatch):
  monkeypatch.setattr(shapes, "_NUM", {"train": 40, "test": 20})  # Fast.
  config = make_config(str(tmp_path), name="flowzoo_shapes/gray",
                       shape=(32, 32, 1))
  data.check_config(config)  # Not prepared yet: must not warn about it.
  ds = get(config, batch=8, eval_batch=8)
  next(ds.train(0))
  next(ds.eval())
  out, err = capfd.readouterr()
  assert out.splitlines() == [
      f"flowzoo: preparing the embedded dataset flowzoo_shapes/gray in "
      f"{tmp_path} (once, ~15 s)"]
  assert "examples" not in err and "Downloading" not in err + out
  warnings = [r.getMessage() for r in caplog.records if r.levelname in (
      "WARNING", "ERROR")]
  assert not [w for w in warnings if "dataset_info.json" in w
              or "deprecated" in w], warnings


def test_shapes_labels_are_the_kinds_the_generator_drew(shapes_dir):
  ds = get(make_config(shapes_dir, labels=True), batch=64, eval_batch=500)
  assert ds.num_classes == len(shapes.KINDS)
  images, labels = next(ds.train(0))
  assert images.shape == (64, 32, 32, 3) and labels.shape == (64,) and labels.dtype == np.int32
  # Each image keeps its own label: the test split is exactly the seeded generator's.
  made_images, made_labels = shapes.generate(2_000, seed=(1, 3, 0))
  label_of = {image.tobytes(): label for image, label in zip(made_images, made_labels)}
  seen = 0
  for images, mask, labels in ds.eval():
    for image, m, label in zip(images, mask, labels):
      if m:
        assert label == label_of[image.tobytes()]
        seen += 1
  assert seen == 2_000
  # A resumed stream continues the same (image, label) pairs.
  stream = ds.train(0)
  third = [next(stream) for _ in range(3)][2]
  resumed = next(ds.train(2))
  np.testing.assert_array_equal(third[0], resumed[0])
  np.testing.assert_array_equal(third[1], resumed[1])


def test_folder_labels_are_the_class_subfolders(tmp_path):
  rng = np.random.default_rng(0)
  colours = {"cat": (200, 10, 10), "dog": (10, 200, 10), "emu": (10, 10, 200)}
  for split, per_class in (("train", 3), ("test", 2)):
    for name, colour in colours.items():
      for i in range(per_class):
        image = np.clip(np.full((8, 8, 3), colour) + rng.integers(-5, 5, (8, 8, 3)), 0, 255)
        write_png(tmp_path / split / name / "deeper" / f"{i}.png", image.astype(np.uint8))
  ds = get(make_config(None, name=f"folder:{tmp_path}", shape=(8, 8, 3), labels=True),
           batch=9, eval_batch=6)
  assert ds.num_classes == 3
  for images, labels in (next(ds.train(0)),
                         next((i, l) for i, m, l in ds.eval())):
    # Sorted names: cat 0 (red), dog 1 (green), emu 2 (blue).
    np.testing.assert_array_equal(images.mean(axis=(1, 2)).argmax(-1), labels)
  write_png(tmp_path / "test" / "stray.png", np.zeros((8, 8, 3), np.uint8))
  with pytest.raises(ValueError, match=r"stray.png lies in no class subfolder"):
    data.check_config(make_config(None, name=f"folder:{tmp_path}", shape=(8, 8, 3),
                                  labels=True))


def test_labels_need_a_class_feature_or_subfolders(tmp_path):
  write_png(tmp_path / "train" / "0.png", np.zeros((8, 8, 3), np.uint8))
  write_png(tmp_path / "test" / "0.png", np.zeros((8, 8, 3), np.uint8))
  with pytest.raises(ValueError, match=r"has no subfolders.*data.labels=False"):
    data.check_config(make_config(None, name=f"folder:{tmp_path}", shape=(8, 8, 3),
                                  labels=True))
