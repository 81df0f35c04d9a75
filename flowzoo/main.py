"""Trains and evaluates one config: python -m flowzoo.main --config=configs/x.py[:arg].

    python -m flowzoo.main --config=configs/quickstart.py
    python -m flowzoo.main --config=configs/mixerflow_imagenet64.py \
        --config.train.batch_size=256 --workdir=runs/mf64

Without --workdir the run goes to runs/<config>-<time>. A workdir that already
holds a run is resumed from its last checkpoint; one whose run has finished only
prints its result. On several hosts, pass --multihost so that
jax.distributed.initialize() joins the processes first. --verbose shows other
libraries' logs and the traceback of an error.
"""
import os
import time

import jax
from absl import app, flags
from ml_collections import config_flags

from flowzoo import config as config_lib, console, records, train

_CONFIG = config_flags.DEFINE_config_file("config", None, "Config file, path[:arg].")
_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory; default runs/<config>-<time>.")
_MULTIHOST = flags.DEFINE_bool("multihost", False, "Call jax.distributed.initialize() first.")
flags.mark_flags_as_required(["config"])


def default_workdir(config_file):
  name = os.path.splitext(os.path.basename(config_file.partition(":")[0]))[0]
  arg = config_file.partition(":")[2]
  return os.path.join("runs", f"{name}{'-' + arg if arg else ''}-{time.strftime('%Y%m%d-%H%M%S')}")


def summary(out):
  """The closing lines of a finished run, for a person."""
  bound = records.bound_description(out["bound"])
  lines = [f"test bpd {out['bpd']:.4f} on {out['count']:,} {out['dataset']} test images "
           f"after {out['step']:,} steps ({out['model']}, {out['params']:,} parameters)",
           f"  bpd is bits per dimension, {bound}: lower is better"]
  if out.get("init_bpd") is not None:
    lines.append(f"  at initialisation the same model had {out['init_bpd']:.4f}")
  if out.get("train_bpd") is not None:
    lines.append(f"  train bpd of the last batch {out['train_bpd']:.4f}")
  lines += [f"workdir     {out['workdir']}", f"checkpoint  {out['checkpoint']}",
            f"samples     {out['sample_grid']}"]
  if out.get("record"):
    lines.append(f"leaderboard {out['record']}")
    lines.append(f"  compare:  python -m flowzoo.leaderboard "
                 f"--dir={os.path.dirname(out['record'])}")
  return lines


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  console.setup()
  if _MULTIHOST.value:
    jax.distributed.initialize()
  config_file = config_flags.get_config_filename(flags.FLAGS["config"])
  workdir = _WORKDIR.value or default_workdir(config_file)
  with console.user_errors():
    out = train.train_and_evaluate(_CONFIG.value, workdir, config_file=config_file)
  if out.get("finished_before"):
    console.say("this run finished before; nothing to do. Its result:")
  if "bpd" in out:
    for line in summary(out):
      console.say(line)


if __name__ == "__main__":
  app.run(main, flags_parser=config_lib.parse_flags)
