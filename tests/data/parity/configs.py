"""The models of the parity fixtures, as flowzoo configs: one home for each.

    python -m flowzoo.convert --source=glow --prefix=state_dict/ \
        --checkpoint=tests/data/parity/glow_rosinality_small.npz \
        --config=tests/data/parity/configs.py:glow --workdir=/tmp/glow_small

The fixtures are 32x32 but Jet's and TarFlow's (16x16): their runs need a dataset at
16x16 or one resized to it (e.g. --config.data.name=folder:PATH), since the embedded
one is 32x32.
"""
import os

from flowzoo.config import base_config, load_config

HERE = os.path.dirname(os.path.abspath(__file__))


def get_config(arg=None):
  if arg == "jet":
    config = base_config("jet")
    # jet_big_vision_small.npz: big_vision jet.Model(depth=6, block_depth=1, emb_dim=32,
    # num_heads=2, ps=4, kinds=('channels', 'channels', 'spatial'),
    # spatial_coupling_projs=('checkerboard', 'hstripes-inv')) on 16x16x3 images.
    config.model.update(patch_size=4, num_couplings=6, vit_depth=1, width=32, num_heads=2,
                        kinds=("channels", "channels", "spatial"),
                        spatial_patterns=("checkerboard", "hstripes-inv"), backprop="store")
    config.data.shape = (16, 16, 3)
  elif arg == "glow":
    # glow_rosinality_small.npz: glow-pytorch's Glow(3, n_flow=2, n_block=3, affine=True,
    # conv_lu=True) with AffineCoupling's filter_size 32, i.e. configs/glow_cifar10.py's
    # port switches at that size.
    config = load_config(os.path.join(HERE, "..", "..", "..", "configs",
                                      "glow_cifar10.py:port"))
    config.model.update(levels=3, steps_per_level=2, width=32)
  elif arg == "denseflow":
    config = base_config("denseflow")
    # denseflow_official_small.npz: --block_conf 3 2 1 --layers_conf 2 2 2
    # --layer_mid_chnls 16 16 16 --growth_rate 5, DNMH depth 2 and growth 16, and the
    # dequantization flow's hard-coded sizes overridden to 16, 2 and 16.
    config.model.update(units=(3, 2, 1), modules=(2, 2, 2), coupling_width=16, growth_rate=5,
                        dense_layers=2, dense_growth=16, dequant_width=16, dequant_depth=2,
                        dequant_growth=16)
  elif arg in ("tarflow", "tarflow_cond"):
    config = base_config("tarflow")
    # tarflow_official_small.npz: apple/ml-tarflow's Model(in_channels=3, img_size=16,
    # patch_size=4, channels=64, num_blocks=3, layers_per_block=2, nvp=True,
    # num_classes=0, or 3 for tarflow_cond) with MetaBlock's head_dim set to 32.
    config.model.update(patch_size=4, width=64, num_flows=3, layers_per_flow=2, head_dim=32,
                        num_classes=3 if arg == "tarflow_cond" else 0, backprop="store")
    config.data.shape = (16, 16, 3)
  else:
    raise ValueError(f"tests/data/parity/configs.py:{arg}: the argument is 'jet', 'glow', "
                     "'denseflow', 'tarflow' or 'tarflow_cond'.")
  config.data.name = "flowzoo_shapes/rgb"
  config.data.shape = (tuple(config.data.shape) if arg in ("jet", "tarflow", "tarflow_cond")
                       else (32, 32, 3))
  config.train.update(batch_size=8, steps=2, lr=1e-4, warmup_steps=0)
  config.eval.update(batch_size=200, num_samples=1)
  config.checkpoint.every_steps = 2
  config.sample.num = 4
  return config
