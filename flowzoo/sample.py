"""Samples a grid from a run's checkpoint.

    python -m flowzoo.sample --workdir=runs/mf64 --temperature=0.7 [--num=64] [--out=grid.png]

The model is rebuilt from the config saved in the workdir and the latest (or
--step) Orbax checkpoint is restored into it.
"""
import jax
from absl import app, flags

import flowzoo
from flowzoo import images as image_lib, train

_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory written by flowzoo.main.")
_NUM = flags.DEFINE_integer("num", 64, "Number of samples.")
_TEMPERATURE = flags.DEFINE_float("temperature", 0.7, "Std multiplier of every prior.")
_STEP = flags.DEFINE_integer("step", None, "Checkpoint step; default the latest.")
_ROWS = flags.DEFINE_integer("rows", None, "Rows of the grid; default near-square.")
_SEED = flags.DEFINE_integer("seed", 0, "Sampling seed.")
_OUT = flags.DEFINE_string("out", None, "PNG path; default WORKDIR/sample_T<temperature>.png.")
flags.mark_flags_as_required(["workdir"])


def main(argv):
  del argv
  model, variables, _ = flowzoo.load(_WORKDIR.value, step=_STEP.value)
  images = train.sample(model, variables, _NUM.value, _TEMPERATURE.value,
                        jax.random.PRNGKey(_SEED.value))
  out = _OUT.value or f"{_WORKDIR.value}/sample_T{_TEMPERATURE.value}.png"
  image_lib.write_png(out, image_lib.grid(images, rows=_ROWS.value))
  print(f"flowzoo: {_NUM.value} samples at temperature {_TEMPERATURE.value} in {out}")


if __name__ == "__main__":
  app.run(main)
