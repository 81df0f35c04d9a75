"""A small Jet on the embedded flowzoo_shapes dataset: trains offline in minutes on 2 CPU cores.

    python -m flowzoo.main --config=configs/jet_quickstart.py

The architecture of the paper (arXiv 2412.15129) at toy size: 6 couplings (two
channel, one spatial, in turn) of a one-block ViT of width 64, on 8x8 tokens of
4x4x3 pixels; the optimizer of the Jet release (configs/jet_imagenet64.py) with a
larger learning rate for its 600 steps of 32 images (about 0.2 s a step unloaded).
"""
from flowzoo.config import base_config, parse_arg


def get_config(arg=None):
  parse_arg(arg)  # no options: refuses any argument
  config = base_config("jet")
  config.model.update(patch_size=4, num_couplings=6, vit_depth=1, width=64, num_heads=2,
                      kinds=("channels", "channels", "spatial"),
                      spatial_patterns=("checkerboard", "checkerboard-inv"),
                      backprop="store")  # tiny activations: recomputing them only costs time
  config.data.update(name="flowzoo_shapes/rgb", shape=(32, 32, 3))
  config.train.update(batch_size=32, steps=600, optimizer="adamw", lr=1e-3, b2=0.95,
                      weight_decay=1e-5 / 1e-3,  # the release's 1e-5 per step, see jet_imagenet64.py
                      warmup_steps=60, grad_clip=1.0, log_every=50)
  config.eval.update(batch_size=500)
  config.checkpoint.every_steps = 200
  config.sample.num = 64
  return config
