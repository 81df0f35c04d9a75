"""Leaderboard records for the tests: as this version writes them, and as older ones did."""
import pathlib

from flowzoo import published, records

REPO = pathlib.Path(__file__).resolve().parents[1]


def old_record(model="mixerflow", bpd=3.5, dataset="cifar10", **overrides):
  """A record as flowzoo wrote it before the comparison fields existed."""
  shape = list(published.native_shape(dataset) or (32, 32, 3))
  config = {"model": {"name": model}, "data": {"shape": shape}}
  record = {
      "model": model, "config_file": f"configs/{model}_cifar10.py",
      "config_arg": None, "config": config,
      "config_hash": records.config_hash(config), "dataset": dataset,
      "split": "test", "corruption": None, "bpd": bpd,
      "bound": records.bound_name(1), "train_bpd": 3.4,
      "params": 11_358_342, "steps": 1000, "examples_seen": 512_000,
      "train_flops": 1.5e15, "train_flops_method": "jaxpr x steps",
      "wall_time_s": 12.5, "devices": 8, "checkpoint": None,
      "flowzoo_version": records.flowzoo_version(),
      "git_commit": records.git_commit(), "date": records.utc_now(),
      "workdir": f"runs/{model}-{bpd}",
  }
  record.update(overrides)
  return record


def make_record(model="mixerflow", bpd=3.5, dataset="cifar10", **overrides):
  """A record with every field this version writes."""
  version = {"cifar10": "3.0.2", "downsampled_imagenet/64x64": "2.0.0",
             "downsampled_imagenet/32x32": "2.0.0", "imagenet_resized/64x64": "0.1.0",
             "imagenet_resized/32x32": "0.1.0"}.get(dataset, "1.0.0")
  fields = dict(
      dataset_version=None if dataset.startswith("folder:") else version,
      image_shape=list(published.native_shape(dataset) or (32, 32, 3)),
      dequantization="uniform", device_kind="cpu",
      device_hours=0.25, sampling={"images_per_s": 120.0, "batch": 64, "temperature": 0.7},
      sample_temperature=0.7, fid=None)
  return old_record(model, bpd, dataset, **{**fields, **overrides})
