"""Trains and evaluates one config: python -m flowzoo.main --config=configs/x.py[:arg].

    python -m flowzoo.main --config=configs/quickstart.py
    python -m flowzoo.main --config=configs/mixerflow_imagenet64.py \
        --config.train.batch_size=256 --workdir=runs/mf64

Without --workdir the run goes to runs/<config>-<time>. A workdir that already
holds a run is resumed from its last checkpoint. On several hosts, pass
--multihost so that jax.distributed.initialize() joins the processes first.
"""
import os
import time

import jax
from absl import app, flags, logging
from ml_collections import config_flags

from flowzoo import checkpoint, train

_CONFIG = config_flags.DEFINE_config_file("config", None, "Config file, path[:arg].")
_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory; default runs/<config>-<time>.")
_MULTIHOST = flags.DEFINE_bool("multihost", False, "Call jax.distributed.initialize() first.")
flags.mark_flags_as_required(["config"])


def default_workdir(config_file):
  name = os.path.splitext(os.path.basename(config_file.partition(":")[0]))[0]
  arg = config_file.partition(":")[2]
  return os.path.join("runs", f"{name}{'-' + arg if arg else ''}-{time.strftime('%Y%m%d-%H%M%S')}")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  checkpoint.quiet_orbax_logging()
  if _MULTIHOST.value:
    jax.distributed.initialize()
  config_file = config_flags.get_config_filename(flags.FLAGS["config"])
  workdir = _WORKDIR.value or default_workdir(config_file)
  logging.info("Workdir: %s", workdir)
  print(f"flowzoo: workdir {workdir}", flush=True)
  out = train.train_and_evaluate(_CONFIG.value, workdir, config_file=config_file)
  if "bpd" in out:
    print(f"flowzoo: test bpd {out['bpd']:.4f} ({out['bound']}), train bpd {out['train_bpd']:.4f}, "
          f"{out['params']:,} parameters", flush=True)
    if out["init_bpd"] is not None:
      print(f"flowzoo: test bpd at initialisation {out['init_bpd']:.4f}", flush=True)
    print(f"flowzoo: checkpoint {out['checkpoint']}", flush=True)
    print(f"flowzoo: samples {out['sample_grid']}", flush=True)
    if "record" in out:
      print(f"flowzoo: leaderboard record {out['record']}", flush=True)


if __name__ == "__main__":
  app.run(main)
