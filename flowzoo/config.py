"""The sections that every flowzoo config has, with their defaults and meaning.

A config file under configs/ defines get_config(arg=None) and starts from
base_config(model_name): it then sets what its paper and dataset change. Every
field can be overridden on the command line (--config.train.batch_size=64).
"""
import difflib
import importlib.util
import math
import os
import sys

import ml_collections
from absl import app

from flowzoo import data, fid, models, paths
from flowzoo.data import shapes


def base_config(model_name: str) -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0  # parameters, data order and every rng of the run derive from it

  c.model = models.default_config(model_name)
  c.data = data.default_config()

  c.train = ml_collections.ConfigDict(dict(
      batch_size=64,        # global batch over all devices and processes
      steps=10_000,         # optimizer steps; the schedule decays to zero at the end
      optimizer="adam",     # 'adam', 'adamw' or 'adamax'
      lr=1e-3,              # peak learning rate
      b1=0.9,
      b2=0.999,
      eps=1e-8,
      weight_decay=0.0,     # decoupled weight decay (adamw only)
      warmup_steps=0,       # linear warmup from 0 to lr
      schedule="cosine",    # after warmup: 'cosine' decay to 0, or 'constant'
      grad_clip=5.0,        # global-norm clipping; 0 disables it
      log_every=100,        # steps between train metrics written to TensorBoard
      progress_every_seconds=30.0,  # seconds between progress lines; 0: every step
      # An update whose loss, gradient or step is not finite is skipped (and
      # reported); this many skipped in a row means the run diverged: it stops.
      max_consecutive_skips=20,
      # Class-conditional models (model.num_classes > 0, data.labels=True): each
      # training label is replaced by "no label" with this probability, so that the
      # model learns its unconditional branch for classifier-free guidance (TarFlow's
      # --drop_label, apple/ml-tarflow train.py).
      label_dropout=0.0,
      # 'bfloat16': mixed precision in the train step, the heavy layers in bfloat16
      # from float32 parameters, log-dets and the optimizer in float32 (backbones with
      # a compute_dtype: TarFlow, whose release trains its generation runs so).
      # Evaluation and sampling stay float32.
      compute_dtype="float32",
  ))
  c.eval = ml_collections.ConfigDict(dict(
      batch_size=256,       # global; the last batch is padded and masked
      every_steps=0,        # evaluate every N steps; 0: only after training
      at_start=False,       # also evaluate the initialised model, as a baseline
      num_samples=1,        # K: 1 reports the single-sample bound, K > 1 the IWBO
      # FID (flowzoo/fid.py), measured after the final evaluation when weights are
      # given: the FID Inception's weights file (pytorch-fid's release
      # pt_inception-2015-12-05-6726825d.pth, or its tensors as .npz/.safetensors);
      # '' measures no FID.
      fid_weights="",
      fid_samples=50_000,   # N samples compared with the whole eval split
      fid_temperature=1.0,  # 1 samples the model itself; DenseFlow reports FID at 0.8
      # .npz of the eval split's Inception statistics: read if there, else computed
      # and written; '' computes them at every measurement.
      fid_reference="",
      fid_batch_size=250,   # images per Inception (and sampling) batch
      fid_image_size=299,   # Inception's input side; FID is standard only at 299
  ))
  c.checkpoint = ml_collections.ConfigDict(dict(
      every_steps=1_000,    # checkpoint every N steps, and always at the end
      keep=3,               # the last N checkpoints are kept
  ))
  c.sample = ml_collections.ConfigDict(dict(
      num=64,               # images in the sample grid written after training
      temperature=0.7,      # Glow's customary temperature for sample grids
  ))
  c.leaderboard = ml_collections.ConfigDict(dict(
      # Any etils.epath path (relative to the working directory the run starts
      # in); '' writes no record.
      dir="runs/leaderboard",
  ))
  return c


def with_defaults(config):
  """A copy of a saved config with the fields flowzoo added to its sections since the
  run was saved, at their defaults: so an older run can be evaluated, e.g. with
  --config.eval.fid_weights=... The model section is left as saved: a new model
  field's default need not be what the saved weights were trained with."""
  config = ml_collections.ConfigDict(config.to_dict())
  defaults = base_config(config.model.name)
  for section in ("data", "train", "eval", "checkpoint", "sample", "leaderboard"):
    for key, value in defaults[section].items():
      if key not in config[section]:
        config[section][key] = value
  return config


def load_config(spec: str) -> ml_collections.ConfigDict:
  """Loads 'path/to/config.py[:arg]' as the command line does."""
  module, arg = load_config_file(spec)
  return module.get_config(arg) if arg else module.get_config()


def load_config_file(spec: str):
  """(module, arg) of 'path/to/config.py[:arg]': the file run as a module, and the
  argument (None without one) that its get_config or get_sweep takes."""
  path, _, arg = spec.partition(":")
  if not os.path.isfile(path):
    folder = os.path.dirname(os.path.abspath(path))
    known = sorted(f for f in os.listdir(folder) if f.endswith(".py")) if os.path.isdir(
        folder) else []
    close = difflib.get_close_matches(os.path.basename(path), known, n=3)
    raise FileNotFoundError(
        f"no config file {os.path.abspath(path)}"
        + (f"; did you mean {', '.join(close)}?" if close else
           "; the configs are under configs/ of the flowzoo repository"))
  spec_ = importlib.util.spec_from_file_location("_flowzoo_config", path)
  module = importlib.util.module_from_spec(spec_)
  spec_.loader.exec_module(module)
  return module, arg or None


# The trainer's numeric fields: (low, high, integer); None is unbounded, and a
# bound in a one-element tuple is exclusive. Checked before anything is compiled.
_NUMBERS = {
    "seed": (0, None, True),
    "train.batch_size": (1, None, True),
    "train.steps": (1, None, True),
    "train.lr": ((0,), None, False),
    "train.b1": (0, (1,), False),
    "train.b2": (0, (1,), False),
    "train.eps": ((0,), None, False),
    "train.weight_decay": (0, None, False),
    "train.warmup_steps": (0, None, True),
    "train.grad_clip": (0, None, False),
    "train.log_every": (1, None, True),
    "train.progress_every_seconds": (0, None, False),
    "train.max_consecutive_skips": (1, None, True),
    "train.label_dropout": (0, (1,), False),
    "eval.batch_size": (1, None, True),
    "eval.every_steps": (0, None, True),
    "eval.num_samples": (1, None, True),
    "eval.fid_samples": (2, None, True),
    "eval.fid_temperature": (0, None, False),
    "eval.fid_batch_size": (1, None, True),
    "eval.fid_image_size": (75, None, True),
    "checkpoint.every_steps": (1, None, True),
    "checkpoint.keep": (1, None, True),
    "sample.num": (1, None, True),
    "sample.temperature": (0, None, False),
}


def _get(config, dotted):
  for key in dotted.split("."):
    config = config[key]
  return config


def check_number(name, value, low=None, high=None, integer=False):
  """Raises ValueError naming `name` unless value is a finite number in [low, high].

  A bound written as a one-element tuple, (0,), is exclusive.
  """
  kind = "an integer" if integer else "a number"
  if (isinstance(value, bool) or not isinstance(value, (int, float))
      or (integer and not isinstance(value, int)) or not math.isfinite(value)):
    raise ValueError(f"{name}={value!r} must be {kind}" + _range(low, high) + ".")
  lo, lo_open = (low[0], True) if isinstance(low, tuple) else (low, False)
  hi, hi_open = (high[0], True) if isinstance(high, tuple) else (high, False)
  if ((lo is not None and (value < lo or (lo_open and value == lo)))
      or (hi is not None and (value > hi or (hi_open and value == hi)))):
    raise ValueError(f"{name}={value!r} must be {kind}" + _range(low, high) + ".")


def _range(low, high):
  lo = None if low is None else (f"> {low[0]}" if isinstance(low, tuple) else f">= {low}")
  hi = None if high is None else (f"< {high[0]}" if isinstance(high, tuple) else f"<= {high}")
  return " " + " and ".join(b for b in (lo, hi) if b) if (lo or hi) else ""


def validate(config):
  """Every check that can fail before data loading and compilation, data first
  (the model's checks read data.shape)."""
  data.check_fields(config.data)
  for dotted, (low, high, integer) in _NUMBERS.items():
    check_number(f"config.{dotted}", _get(config, dotted), low, high, integer)
  models.validate(config)
  num_classes = config.model.get("num_classes", 0)
  if bool(num_classes) != config.data.labels:
    raise ValueError(
        f"config.model.num_classes={num_classes} and config.data.labels="
        f"{config.data.labels} disagree: a class-conditional model (num_classes > 0) "
        "trains on labelled data and only it does; set both, or neither "
        f"(config.model.name={config.model.name!r} "
        + ("has no class conditioning)." if "num_classes" not in config.model else ")."))
  if config.train.optimizer not in ("adam", "adamw", "adamax"):
    raise ValueError(f"config.train.optimizer={config.train.optimizer!r}: choose "
                     "'adam', 'adamw' or 'adamax'.")
  if config.train.compute_dtype not in models.COMPUTE_DTYPES:
    raise ValueError(f"config.train.compute_dtype={config.train.compute_dtype!r}: choose one "
                     f"of {models.COMPUTE_DTYPES}.")
  models.with_compute_dtype(models.build_model(config), config.train.compute_dtype)
  if config.train.schedule not in ("cosine", "constant"):
    raise ValueError(f"config.train.schedule={config.train.schedule!r}: choose "
                     "'cosine' or 'constant'.")
  fid.check_config(config.eval)
  if config.train.warmup_steps > config.train.steps:
    raise ValueError(f"config.train.warmup_steps={config.train.warmup_steps} must lie in "
                     f"0..train.steps (={config.train.steps}).")


def resolve_paths(config):
  """A copy of config with its local paths made absolute (see flowzoo.paths)."""
  config = ml_collections.ConfigDict(config.to_dict())
  config.leaderboard.dir = paths.resolve(config.leaderboard.dir)
  config.eval.fid_weights = paths.resolve(config.eval.fid_weights)
  config.eval.fid_reference = paths.resolve(config.eval.fid_reference)
  config.data = data.resolve_paths(config.data)
  return config


def _fields(config, prefix=""):
  """Dotted names of every field of a ConfigDict, sections included."""
  out = []
  for key, value in config.items():
    out.append(prefix + key)
    if isinstance(value, ml_collections.ConfigDict):
      out += _fields(value, f"{prefix}{key}.")
  return out


def parse_flags(argv):
  """absl's parser for a command with --config, after a check of the config file and its
  overrides in plain words."""
  error = command_line_error(argv)
  if error:
    sys.exit(f"flowzoo: error: {error}")
  return app.parse_flags_with_usage(argv)


def flag_value(argv, name):
  """The value of --name in argv as absl would read it, or None; for the few flags that
  must be known before absl parses the others."""
  for i, arg in enumerate(argv):
    if arg.startswith(f"--{name}="):
      return arg.split("=", 1)[1]
    if arg == f"--{name}" and i + 1 < len(argv):
      return argv[i + 1]
  return None


def command_line_error(argv, flag="config", config=None):
  """What is wrong with the config file or a --config.FIELD override in argv, or None.

  Runs before absl parses the flags, which would report a mistyped field as a
  KeyError under three tracebacks, and a missing file only when first read. With
  `config` given (a run's saved config), only the overrides are checked.
  """
  names = [arg.split("=", 1)[0].split(".", 1)[1] for arg in argv
           if arg.startswith((f"--{flag}.", f"--no{flag}."))]
  spec = flag_value(argv, flag) if config is None else "the run's config.json"
  if spec is None:
    return None  # absl says that --config is required
  try:
    config = load_config(spec) if config is None else config
  except FileNotFoundError as e:
    return f"--{flag}={spec}: {e}"
  fields = _fields(config)
  for name in names:
    if name not in fields:
      close = difflib.get_close_matches(name, fields, n=1, cutoff=0.6)
      hint = f"; did you mean --{flag}.{close[0]}?" if close else (
          f"; the sections are {sorted(config)} (see flowzoo/config.py).")
      return f"--{flag}.{name}: {spec} has no field {name}{hint}"
  return None


# ---- Config files: their argument, their siblings, their :smoke variant ----------


def parse_arg(arg, **options):
  """The options of a config file's argument, 'config.py:key=value,flag', as a ConfigDict.

  `options` names every option with its default, whose type the given value is
  converted to; a bare name sets a flag (bool option) True. An argument that is one
  value, with no '=' or ',', and no option's name, is the first option's value
  unless that is a flag: 'denseflow_45_6.py:3' is row=3. These are big_vision's rules
  for its configs' argument (big_vision/utils.py, parse_arg).
  """
  arg = arg or ""
  first = next(iter(options), None)
  if (arg and "," not in arg and "=" not in arg and arg not in options
      and first is not None and not isinstance(options[first], bool)):
    arg = f"{first}={arg}"
  given = {}
  for item in filter(None, arg.split(",")):
    key, eq, value = item.partition("=")
    given[key] = value if eq else "True"
  listing = ", ".join(f"{k}={v!r}" for k, v in options.items()) or "none"
  for key in given:
    if key not in options:
      raise ValueError(f"config argument {arg!r}: no option {key!r}; the options, with "
                       f"their defaults: {listing}.")
  parsed = ml_collections.ConfigDict()
  for key, default in options.items():
    parsed[key] = default if key not in given else _option(key, given[key], default)
  return parsed


def _option(key, value, default):
  """`value` (a string) converted to the type of `default`."""
  if isinstance(default, bool):
    if value.lower() not in ("true", "false", ""):
      raise ValueError(f"config argument option {key}={value!r}: give {key} (True), "
                       f"{key}=True or {key}=False.")
    return value.lower() == "true"
  try:
    return type(default)(value) if default is not None else value
  except ValueError:
    raise ValueError(f"config argument option {key}={value!r} must be "
                     f"{type(default).__name__}, as its default {default!r}.") from None


def load_sibling(config_file, name, arg=None):
  """Loads config file `name` (with its argument `arg`) from the folder of
  `config_file`, a config's __file__, from whatever directory the command runs in."""
  folder = os.path.dirname(os.path.abspath(config_file))
  return load_config(os.path.join(folder, name) + (f":{arg}" if arg else ""))


# A :smoke model per backbone: the paper config's switches (coupling kinds, linear
# blocks, Table 4's columns, the port's storage) kept, its sizes cut to a few
# layers of a few channels, so that a run compiles and trains in about a minute.
SMOKE_MODEL = {
    "mixerflow": dict(num_layers=4, hidden=16, flow_layers=1),  # one shift layer
    "glow": dict(levels=2, steps_per_level=2, width=16),
    "jet": dict(num_couplings=2, vit_depth=1, width=32, num_heads=2),
    "denseflow": dict(units=(1, 1, 1), modules=(1, 1, 1), growth_rate=2,
                      coupling_width=8, dense_layers=1, dense_growth=8, dequant_width=8,
                      dequant_depth=1, dequant_growth=8),
    "tarflow": dict(width=32, num_flows=2, layers_per_flow=1, head_dim=16),
    "maf": dict(num_mades=2, hidden=(64,)),
}


def smoke(config):
  """The :smoke variant of a paper config, as big_vision's configs have one for
  local runs (runlocal): its model at toy size (SMOKE_MODEL) on the embedded
  flowzoo_shapes, 20 steps of 8 images, evaluated on 256 test images, and no
  leaderboard record. Checks the whole path of a config in about a minute on CPU."""
  name = config.model.name
  if name not in SMOKE_MODEL:
    raise ValueError(f"config.model.name={name!r} has no :smoke sizes: add them to "
                     "flowzoo.config.SMOKE_MODEL.")
  config.model.update(SMOKE_MODEL[name])
  if config.data.labels:
    config.model.num_classes = len(shapes.KINDS)
  channels = config.data.shape[-1]
  config.data.update(name="flowzoo_shapes/" + ("gray" if channels == 1 else "rgb"),
                     shape=(32, 32, channels), resize="resize", train_split="train",
                     eval_split="test[:256]", shuffle_buffer=1_000)
  config.train.update(batch_size=8, steps=20, warmup_steps=2, log_every=5)
  config.eval.update(batch_size=64, every_steps=0, num_samples=1, fid_weights="")
  config.checkpoint.every_steps = 20
  config.sample.num = 4
  config.leaderboard.dir = ""
  return config
