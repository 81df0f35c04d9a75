"""Samples a grid from a run's checkpoint, a temperature sweep, and interpolations.

    python -m flowzoo.sample --workdir=runs/mf64 --temperature=0.7 [--num=64] [--out=grid.png]
    python -m flowzoo.sample --workdir=runs/mf64 --interpolate [--pairs=4] [--interpolation_steps=8]

The model is rebuilt from the config saved in the workdir and the latest (or
--step) Orbax checkpoint is restored into it. Beside the grid (OUT) it writes
OUT_temperatures.png: one row per temperature in --temperatures, every row from
the same prior noise, so a column shows one latent at rising temperature. With
--interpolate, OUT_interpolations.png: a row per pair of test images, walking
the straight line between their latents (first and last columns decode to the
test images themselves).

    python -m flowzoo.sample --workdir=runs/tarflow_in64_cond --labels=207,360 \
        --guidance=2.0 --annealed_guidance

A class-conditional model samples every class in turn unless --labels names them;
--guidance, --attn_temp and --annealed_guidance guide a TarFlow's sampling.
"""
import inspect
import math
import os

import jax
import numpy as np
from absl import app, flags

import flowzoo
from flowzoo import checkpoint, console, data, images as image_lib, paths, sampling

# Glow's 0.7 (arXiv 1807.03039) and DenseFlow's 0.8 (arXiv 2106.04627) between the mode
# (0) and the model (1).
TEMPERATURES = ("0", "0.5", "0.7", "0.8", "1.0")

_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory written by flowzoo.main.")
_NUM = flags.DEFINE_integer("num", 64, "Number of samples.", lower_bound=1)
_TEMPERATURE = flags.DEFINE_float("temperature", 0.7, "Std multiplier of every prior.",
                                  lower_bound=0.0)
_STEP = flags.DEFINE_integer("step", None, "Checkpoint step; default the latest.")
_ROWS = flags.DEFINE_integer("rows", None, "Rows of the grid; default near-square.",
                             lower_bound=1)
_SEED = flags.DEFINE_integer("seed", 0, "Sampling seed.")
_OUT = flags.DEFINE_string("out", None, "PNG path; default WORKDIR/sample_T<temperature>.png.")
_TEMPERATURES = flags.DEFINE_list("temperatures", list(TEMPERATURES),
                                  "Rows of the temperature sweep grid; empty for none.")
_PER_TEMPERATURE = flags.DEFINE_integer("per_temperature", 8, "Samples per temperature row.",
                                        lower_bound=1)
_INTERPOLATE = flags.DEFINE_bool("interpolate", False,
                                 "Also write latent interpolations between test images.")
_PAIRS = flags.DEFINE_integer("pairs", 4, "Pairs of test images to interpolate between.",
                              lower_bound=1)
_INTERPOLATION_STEPS = flags.DEFINE_integer("interpolation_steps", 8,
                                            "Images per interpolation, both ends included.",
                                            lower_bound=2)
_LABELS = flags.DEFINE_list("labels", None, "Class-conditional models: the classes of the "
                           "samples, cycled; default every class in turn.")
_GUIDANCE = flags.DEFINE_float("guidance", 0.0, "Classifier-free guidance weight w (TarFlow).")
_ATTN_TEMP = flags.DEFINE_float("attn_temp", 1.0, "Attention temperature of the guiding "
                                "unconditional pass (TarFlow).")
_ANNEALED = flags.DEFINE_bool("annealed_guidance", False, "Guidance rising linearly to w "
                              "over the tokens, as TarFlow's evaluate_fid.py (TarFlow).")
flags.mark_flags_as_required(["workdir"])


def _temperature_ok(value):
  try:
    return math.isfinite(float(value)) and float(value) >= 0
  except ValueError:
    return False


# absl's bounds let NaN through (every comparison with it is False).
flags.register_validator("temperature", _temperature_ok,
                         "must be a finite number >= 0 (0 draws the mode, 1 the model)")
flags.register_validator("temperatures", lambda values: all(map(_temperature_ok, values)),
                         "must be finite numbers >= 0, comma-separated")


def eval_images(config, num):
  """The first `num` images of the run's evaluation split, as the run saw them."""
  ds = data.get_datasets(config.data, global_batch_size=num, eval_batch_size=num,
                         seed=config.seed, process_index=0, process_count=1)
  images, mask = next(iter(ds.eval()))[:2]
  return np.asarray(images)[np.asarray(mask)]


def _beside(out, suffix):
  stem, ext = os.path.splitext(out)
  return f"{stem}_{suffix}{ext or '.png'}"


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  console.setup()
  with console.user_errors():
    write_samples(paths.resolve(_WORKDIR.value), paths.resolve(_OUT.value))


def conditioning(model, num):
  """The labels [num] (or None) and guidance arguments the flags ask of `model`."""
  labels = None
  if _LABELS.value:
    classes = getattr(model, "num_classes", 0)
    if not classes:
      raise ValueError(f"--labels: this {type(model).__name__} is not class-conditional "
                       "(config.model.num_classes is 0 or not a field).")
    try:
      chosen = [int(label) for label in _LABELS.value]
    except ValueError:
      raise ValueError(f"--labels={','.join(_LABELS.value)}: give class indices, e.g. "
                       "--labels=0,3.") from None
    if not all(0 <= label < classes for label in chosen):
      raise ValueError(f"--labels={','.join(_LABELS.value)}: classes lie in 0..{classes - 1}.")
    labels = np.resize(chosen, num)
  guidance = {}
  if (_GUIDANCE.value, _ATTN_TEMP.value, _ANNEALED.value) != (0.0, 1.0, False):
    if "guidance" not in inspect.signature(model.decode).parameters:
      raise ValueError(f"--guidance, --attn_temp and --annealed_guidance guide a TarFlow; "
                       f"this run's model is a {type(model).__name__}.")
    guidance = dict(guidance=_GUIDANCE.value, attn_temp=_ATTN_TEMP.value,
                    annealed_guidance=_ANNEALED.value)
  return labels, guidance


def write_samples(workdir, out):
  """Everything main writes, from the run in `workdir` (absolute paths)."""
  model, variables, config = flowzoo.load(workdir, step=_STEP.value)
  rng = jax.random.PRNGKey(_SEED.value)
  labels, guidance = conditioning(model, _NUM.value)
  images = sampling.sample(model, variables, _NUM.value, _TEMPERATURE.value, rng, labels,
                           guidance)
  out = out or str(checkpoint.samples_path(workdir, _TEMPERATURE.value))
  image_lib.write_png(out, image_lib.grid(images, rows=_ROWS.value))
  console.say(f"{_NUM.value} samples at temperature {_TEMPERATURE.value} in {out}")
  if _TEMPERATURES.value:
    temperatures = [float(t) for t in _TEMPERATURES.value]
    sweep = sampling.temperature_sweep(model, variables, temperatures,
                                       _PER_TEMPERATURE.value, jax.random.fold_in(rng, 1))
    path = _beside(out, "temperatures")
    image_lib.write_png(path, image_lib.grid(sweep, rows=len(temperatures)))
    console.say(f"rows at temperatures {temperatures} in {path}")
  if _INTERPOLATE.value:
    pairs = eval_images(config, 2 * _PAIRS.value)
    if len(pairs) < 2 * _PAIRS.value:
      raise ValueError(f"--pairs={_PAIRS.value} needs {2 * _PAIRS.value} test images; the "
                       f"evaluation split has {len(pairs)}.")
    walk = sampling.interpolations(model, variables, pairs[:_PAIRS.value],
                                   pairs[_PAIRS.value:], _INTERPOLATION_STEPS.value,
                                   jax.random.fold_in(rng, 2))
    path = _beside(out, "interpolations")
    image_lib.write_png(path, image_lib.grid(walk, rows=_PAIRS.value))
    console.say(f"{_PAIRS.value} interpolations between test images in {path}")


if __name__ == "__main__":
  app.run(main)
