"""Configs of the models in the parity fixtures, on the embedded data at their image size.

    python -m flowzoo.convert --source=jet --prefix=params/ \
        --checkpoint=tests/data/parity/jet_big_vision_small.npz \
        --config=tests/data/parity/configs.py:jet --workdir=/tmp/jet_small
"""
from flowzoo.config import base_config


def get_config(arg=None):
  if arg != "jet":
    raise ValueError(f"tests/data/parity/configs.py:{arg}: the argument is 'jet'.")
  config = base_config("jet")
  # jet_big_vision_small.npz: big_vision jet.Model(depth=6, block_depth=1, emb_dim=32,
  # num_heads=2, ps=4, kinds=('channels', 'channels', 'spatial'),
  # spatial_coupling_projs=('checkerboard', 'hstripes-inv')) on 16x16x3 images.
  config.model.update(patch_size=4, num_couplings=6, vit_depth=1, width=32, num_heads=2,
                      kinds=("channels", "channels", "spatial"),
                      spatial_patterns=("checkerboard", "hstripes-inv"), remat=False)
  config.data.update(name="flowzoo_shapes/rgb", shape=(16, 16, 3))
  config.train.update(batch_size=8, steps=2, lr=1e-4, warmup_steps=0)
  config.eval.update(batch_size=200)
  config.checkpoint.every_steps = 2
  config.sample.num = 4
  return config
