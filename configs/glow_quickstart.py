"""A small Glow on the embedded flowzoo_shapes dataset: trains offline in minutes on 2 CPU cores.

    python -m flowzoo.main --config=configs/glow_quickstart.py

The release's architecture and switches at toy size: 2 levels of 4 steps with
coupling networks of width 32 on 32x32x3 shapes (100,524 parameters); the release's
Adamax with a shorter warmup and a cosine decay so a short run ends converged. On 2
CPU cores: 400 steps in about 3 minutes, test bpd 4.70.
"""
from flowzoo.config import base_config, parse_arg


def get_config(arg=None):
  parse_arg(arg)  # no options: refuses any argument
  config = base_config("glow")
  config.model.update(levels=2, steps_per_level=4, width=32)
  config.data.update(name="flowzoo_shapes/rgb", shape=(32, 32, 3))
  config.train.update(batch_size=64, steps=400, optimizer="adamax", lr=2e-3,
                      warmup_steps=40, schedule="cosine", grad_clip=50.0, log_every=50)
  config.eval.update(batch_size=500)
  config.checkpoint.every_steps = 200
  config.sample.num = 64
  return config
