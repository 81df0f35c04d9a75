"""Leaderboard records: the one writer and the one reader.

A record is one JSON object, one file, per finished evaluation. The trainer and
evaluator build them with `run_record` and write them with `write_record`;
`flowzoo.leaderboard` reads them with `read_records`. The directory is anything `etils.epath.Path` opens (a local
folder, a shared disk, gs://...), so a team can point every run at one place.

Concurrent writers never coordinate: every file gets a fresh name
`<utc time>-<model>-<uuid4 hex>.json`, is written under a hidden temporary name
in the same directory and then renamed, so a reader sees either the whole record
or nothing, and no two writers can pick the same name.

Record schema (every field is required; "|null" marks where null is allowed):

  model               str  backbone name as in the registry, e.g. 'mixerflow'.
  config_file         str  the config file the run was started from.
  config_arg          str|null  the argument after ':' in --config, if any.
  config              dict  the full resolved config (ConfigDict.to_dict()).
  config_hash         str  `config_hash(config)`: sha256 of its canonical
                      JSON, so runs of one configuration can be grouped.
  dataset             str  TFDS name: 'cifar10', 'downsampled_imagenet/64x64'.
  split               str  the evaluated split, e.g. 'test'.
  corruption          str|null  data corruption (e.g. 'global_shuffle').
  bpd                 float  bits per dimension on `split`; finite.
  bound               str|null  which bound bpd is, `bound_name(k, dequantization)`:
                      'elbo' for one dequantization sample, 'iwbo-K' for the
                      importance-weighted bound with K samples; 'exact' for
                      a model of the discrete data itself (no dequantization);
                      null for a model of Gaussian-noised images, whose bpd
                      bounds nothing discrete.
  train_bpd           float|null  bpd on training data at the end of training.
  params              int  number of trainable parameters.
  steps               int  optimizer steps taken.
  examples_seen       int  training examples consumed (steps * global batch).
  train_flops         float|null  training compute estimate.
  train_flops_method  str|null  how train_flops was estimated (the trainer's:
                      flowzoo.flops.METHOD).
  wall_time_s         float  wall-clock seconds of training.
  devices             str|int|list  the accelerators used.
  checkpoint          str|null  path of the evaluated Orbax checkpoint.
  flowzoo_version     str|null  `flowzoo_version()`.
  git_commit          str|null  `git_commit()`.
  date                str  ISO 8601 UTC time of the evaluation, `utc_now()`.

Comparison fields, which every record written by this version of flowzoo has and
older records lack (the leaderboard shows those as "not recorded", never drops
them; `lacking(record)` names them):

  dataset_version     str|null  the TFDS version of `dataset` ('3.0.2'); null for a
                      'folder:PATH' dataset, whose identity is its path and shape.
  image_shape         [H, W, C]  the images the model saw (data.shape).
  dequantization      str  'uniform', 'variational' or 'gaussian(sigma=S)'.
  device_kind         str  jax's device_kind of the devices ('cpu', 'NVIDIA H200').
  device_hours        float|null  training time x devices / 3600, summed over every
                      segment of a resumed run (flowzoo.cost); null if not trained here.
  sampling            {images_per_s, batch, temperature}|null  sampling throughput,
                      measured after compilation at that batch.
  sample_temperature  float|null  the temperature of `sample_grid`.
  fid                 {value, samples, temperature, image_size, weights: {file,
                      sha256, standard}, reference: {...}}|null  FID when measured
                      (flowzoo.fid), null when not.

Optional fields: `sample_grid` (path of a PNG of samples), `workdir` (the run's
workdir), `weights` (where the run's starting weights came from: flowzoo.convert's
origin, with the source code, file and sha256; absent or null when flowzoo
initialised them), `evaluated_by` ('flowzoo.evaluate' for a record of that
command), `images` (how many images the bpd averages). Any further field is kept
and ignored by the leaderboard.
"""

from collections.abc import Mapping
import concurrent.futures
import datetime
import hashlib
import importlib.metadata
import json
import math
import pathlib
import re
import subprocess
import uuid

from etils import epath

REQUIRED_FIELDS = (
    "model", "config_file", "config_arg", "config", "config_hash",
    "dataset", "split", "corruption", "bpd", "bound", "train_bpd",
    "params", "steps", "examples_seen", "train_flops", "train_flops_method",
    "wall_time_s", "devices", "checkpoint", "flowzoo_version", "git_commit",
    "date",
)

# Added with the comparison columns of the leaderboard: required of what this
# version writes (write_record checks), absent from older records (read as they are).
COMPARISON_FIELDS = (
    "dataset_version", "image_shape", "dequantization", "device_kind",
    "device_hours", "sampling", "sample_temperature", "fid",
)

_SUFFIX = ".json"
# Hidden and without the .json suffix: a reader globbing *.json never sees it.
_TMP_PREFIX = ".tmp-"


def config_hash(config: Mapping) -> str:
  """sha256 of the canonical JSON of a config dict; key order is irrelevant."""
  if hasattr(config, "to_dict"):  # An ml_collections ConfigDict.
    config = config.to_dict()
  canonical = json.dumps(config, sort_keys=True, separators=(",", ":"),
                         default=_jsonable)
  return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def bound_name(num_samples: int, dequantization: str = "uniform") -> str | None:
  """'elbo' for a single-sample bound, 'iwbo-K' for K importance samples; None for a
  model of Gaussian-noised images ('gaussian(sigma=S)'), whose bpd is the density of
  the noised images and no bound on the discrete data's likelihood."""
  if isinstance(num_samples, bool) or int(num_samples) != num_samples:
    raise ValueError(f"num_samples must be an integer, got {num_samples!r}")
  if num_samples < 1:
    raise ValueError(f"num_samples must be >= 1, got {num_samples}")
  if dequantization.startswith("gaussian"):
    return None
  return "elbo" if num_samples == 1 else f"iwbo-{int(num_samples)}"


def is_bound_name(name) -> bool:
  """'exact', 'elbo' or 'iwbo-K' with K >= 2."""
  return isinstance(name, str) and (name in ("exact", "elbo") or bool(
      re.fullmatch(r"iwbo-([2-9]|[1-9]\d+)", name)))


def bound_description(name):
  """What a reported bpd is, for a person: it comes from a lower bound on log p(x),
  so it is an upper bound on the model's true bits per dimension."""
  if name is None:
    return ("the density of Gaussian-noised images (a model trained on them): no bound "
            "on the discrete data's likelihood")
  if name == "exact":
    return "exact: the model's discrete likelihood, no dequantization bound"
  if name == "elbo":
    return "an upper bound from one dequantization sample (the ELBO)"
  return f"an upper bound from {name.partition('-')[2]} importance samples (the IWBO)"


def utc_now() -> str:
  return datetime.datetime.now(datetime.timezone.utc).isoformat()


def flowzoo_version() -> str | None:
  """The version of the installed flowzoo (setup.py's); None for a source tree that was
  never installed."""
  try:
    return importlib.metadata.version("flowzoo")
  except importlib.metadata.PackageNotFoundError:
    return None


def git_commit() -> str | None:
  """The commit of the flowzoo source checkout, or None. Never raises."""
  package_dir = pathlib.Path(__file__).resolve().parent
  try:
    # A site-packages install can sit inside some other repository (a venv in
    # a project): only trust HEAD if the package is tracked there.
    subprocess.run(
        ["git", "-C", str(package_dir), "ls-files", "--error-unmatch",
         "__init__.py"],
        check=True, capture_output=True, timeout=10)
    out = subprocess.run(
        ["git", "-C", str(package_dir), "rev-parse", "HEAD"],
        check=True, capture_output=True, text=True, timeout=10)
  except (OSError, subprocess.SubprocessError):
    return None
  commit = out.stdout.strip()
  return commit if re.fullmatch(r"[0-9a-f]{40,64}", commit) else None


def run_record(config, workdir, step, **fields) -> dict:
  """The record of the checkpoint of `step` in `workdir`, a run of `config`: the fields
  that follow from the config, the workdir and this process (model, data, the config
  and its hash, examples seen, devices, checkpoint, weights, version, commit, date),
  and `fields`, what the trainer or the evaluator measured (bpd, bound, params, ...)."""
  # pylint: disable=g-import-not-at-top (the leaderboard reads records without JAX)
  import jax
  from flowzoo import checkpoint, cost, provenance
  config_dict = config.to_dict()
  return dict(
      model=config.model.name, config=config_dict, config_hash=config_hash(config_dict),
      dataset=config.data.name, split=config.data.eval_split,
      corruption=config.data.corruption, **provenance.dataset_fields(config.data),
      steps=step, examples_seen=step * config.train.batch_size,
      devices=jax.device_count(), device_kind=cost.device_kind(), workdir=str(workdir),
      checkpoint=str(checkpoint.step_path(workdir, step)),
      weights=checkpoint.load_origin(workdir), flowzoo_version=flowzoo_version(),
      git_commit=git_commit(), date=utc_now(), **fields)


def validate(record) -> None:
  """Raises ValueError saying what makes `record` unfit for the leaderboard."""
  if not isinstance(record, Mapping):
    raise ValueError(f"a record is a JSON object, got {type(record).__name__}")
  missing = [f for f in REQUIRED_FIELDS if f not in record]
  if missing:
    raise ValueError(f"record lacks required field(s): {', '.join(missing)}")
  if not isinstance(record["model"], str) or not record["model"]:
    raise ValueError(f"field 'model' must be a non-empty string, "
                     f"got {record['model']!r}")
  bpd = record["bpd"]
  # A diverged run (nan/inf) is a fact for the logs, not a leaderboard entry;
  # JSON cannot hold it either.
  if (isinstance(bpd, bool) or not isinstance(bpd, (int, float))
      or not math.isfinite(bpd)):
    raise ValueError(f"field 'bpd' must be a finite number, got {bpd!r}")
  if record["bound"] is not None and not is_bound_name(record["bound"]):
    raise ValueError(f"field 'bound' must be 'exact', 'elbo' or 'iwbo-K' "
                     f"(records.bound_name), got {record['bound']!r}")
  for field in COMPARISON_FIELDS:
    if field in record:
      problem = _COMPARISON_CHECKS[field](record[field])
      if problem:
        raise ValueError(f"field {field!r} {problem}, got {record[field]!r}")


def lacking(record) -> list[str]:
  """The comparison fields a record lacks: it was written before they existed."""
  return [f for f in COMPARISON_FIELDS if f not in record]


def _number(value, low=0.0):
  return (not isinstance(value, bool) and isinstance(value, (int, float))
          and math.isfinite(value) and value >= low)


def _optional(check):
  return lambda v: None if v is None else check(v)


def _check_shape(v):
  ok = (isinstance(v, list) and len(v) == 3
        and all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in v))
  return None if ok else "must be [H, W, C], three positive ints"


def _check_dequantization(v):
  ok = isinstance(v, str) and bool(
      re.fullmatch(r"uniform|variational|gaussian\(sigma=[0-9.e+-]+\)", v))
  return None if ok else ("must be 'uniform', 'variational' or "
                          "'gaussian(sigma=S)'")


def _check_sampling(v):
  ok = (isinstance(v, dict) and _number(v.get("images_per_s"))
        and isinstance(v.get("batch"), int) and v["batch"] > 0
        and _number(v.get("temperature")))
  return None if ok else ("must be {images_per_s: number, batch: int, "
                          "temperature: number}")


def _check_fid(v):
  ok = (isinstance(v, dict) and _number(v.get("value"))
        and isinstance(v.get("samples"), int) and v["samples"] > 1
        and _number(v.get("temperature"))
        and isinstance(v.get("weights"), dict)
        and isinstance(v["weights"].get("sha256"), str))
  return None if ok else ("must be {value, samples (> 1), temperature, weights: "
                          "{file, sha256, standard}, ...} (flowzoo.fid)")


def _text(v):
  return None if isinstance(v, str) and v else "must be a non-empty string"


_COMPARISON_CHECKS = {
    "dataset_version": _optional(_text),
    "image_shape": _check_shape,
    "dequantization": _check_dequantization,
    "device_kind": _text,
    "device_hours": _optional(lambda v: None if _number(v) else
                              "must be a number >= 0"),
    "sampling": _optional(_check_sampling),
    "sample_temperature": _optional(lambda v: None if _number(v) else
                                    "must be a number >= 0"),
    "fid": _optional(_check_fid),
}


def write_record(directory, record: Mapping) -> epath.Path:
  """Validates `record` and writes it atomically into a new file; its path."""
  record = json.loads(json.dumps(dict(record), default=_jsonable))
  validate(record)
  missing = lacking(record)
  if missing:  # Only records of older versions may lack them; a writer may not.
    raise ValueError(f"record lacks comparison field(s): {', '.join(missing)} "
                     "(see flowzoo/records.py; null where not measured)")
  directory = epath.Path(directory)
  directory.mkdir(parents=True, exist_ok=True)
  stamp = datetime.datetime.now(datetime.timezone.utc).strftime(
      "%Y%m%dT%H%M%S.%fZ")
  model = re.sub(r"[^A-Za-z0-9_.-]+", "_", record["model"])
  name = f"{stamp}-{model}-{uuid.uuid4().hex}{_SUFFIX}"
  tmp = directory / f"{_TMP_PREFIX}{name}.partial"
  tmp.write_text(json.dumps(record, indent=2, sort_keys=True,
                            allow_nan=False) + "\n")
  # On a local or shared POSIX disk rename is atomic; on GCS an object only
  # appears once fully uploaded, so the copy-then-delete rename is safe too.
  return tmp.rename(directory / name)


def read_records(directory) -> tuple[list[dict], list[tuple[str, str]]]:
  """Reads every record in `directory`, oldest file name first.

  Returns (records, problems): a file that cannot be read, parsed or validated
  goes to `problems` as (file name, reason) instead of stopping the others.
  Raises FileNotFoundError if `directory` does not exist, so a mistyped
  --dir is not mistaken for an empty leaderboard.
  """
  directory = epath.Path(directory)
  if not directory.is_dir():
    raise FileNotFoundError(f"no leaderboard directory {directory}")
  paths = sorted((p for p in directory.glob(f"*{_SUFFIX}")
                  if not p.name.startswith(".")), key=lambda p: p.name)
  # Reads are independent and on gs:// each one is a round trip: overlap them.
  with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
    results = list(pool.map(_read_one, paths))
  records, problems = [], []
  for path, (record, reason) in zip(paths, results):
    if reason is None:
      records.append(record)
    else:
      problems.append((path.name, reason))
  return records, problems


def find_record(directory, where=None, **fields) -> epath.Path | None:
  """The path of the first readable record in `directory` whose fields equal
  `fields` (e.g. workdir=..., steps=...) and for which where(record) holds, or
  None: how a restarted run finds the record it wrote before it was killed,
  instead of writing a second one."""
  directory = epath.Path(directory)
  if not directory.is_dir():
    return None
  for path in sorted(p for p in directory.glob(f"*{_SUFFIX}") if not p.name.startswith(".")):
    record, reason = _read_one(path)
    if reason is None and all(record.get(k) == v for k, v in fields.items()) and (
        where is None or where(record)):
      return path
  return None


def read_record(path) -> dict:
  """The record in the file at `path`; ValueError (or OSError) if it is not one."""
  record, reason = _read_one(epath.Path(path))
  if reason is not None:
    raise ValueError(f"{path}: {reason}")
  return record


def _read_one(path: epath.Path):
  try:
    record = json.loads(path.read_text())
    validate(record)
  except (OSError, UnicodeDecodeError, ValueError) as e:
    # json.JSONDecodeError is a ValueError.
    return None, f"{type(e).__name__}: {e}"
  return record, None


def _jsonable(value):
  """JSON for numpy / jax scalars and arrays, which the trainer hands over."""
  if hasattr(value, "tolist"):
    return value.tolist()
  raise TypeError(f"{type(value).__name__} is not JSON serializable")
