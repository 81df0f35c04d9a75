"""Jet on ImageNet-1k 32x32 (Kolesnikov et al.; arXiv 2412.15129).

    python -m flowzoo.main --config=configs/jet_imagenet32.py             # the ImageNet64 release's model
    python -m flowzoo.main --config=configs/jet_imagenet32.py:table3      # Table 3 model, 3.931 bpd (Table 1)
    python -m flowzoo.main --config=configs/jet_imagenet32.py:benchmark   # the speed benchmark's size

No 32x32 config was released: this one keeps the model and the recipe of the
ImageNet64 release (configs/jet_imagenet64.py) at patch size 4, i.e. 8x8 = 64
tokens; the train split has as many images, so the schedule is the same. (The
paper's default picks the patch size for 256 tokens, i.e. 2 at 32x32; flowzoo's
Table 3 sizes are counted at patch size 4.)
"""
import os

from flowzoo.config import load_config

SIZES = {
    # Table 3 (ImageNet-1k 32x32): 64 couplings, ViT depth 6, width 256, 4 heads.
    "table3": dict(num_couplings=64, vit_depth=6, width=256, num_heads=4),
    # flowzoo's speed benchmark: 8 couplings of depth 2, width 256, 4 heads.
    "benchmark": dict(num_couplings=8, vit_depth=2, width=256, num_heads=4,
                      kinds=("channels", "channels", "spatial"),
                      spatial_patterns=("checkerboard", "checkerboard-inv")),
}


def get_config(arg=None):
  config = load_config(os.path.join(os.path.dirname(__file__), "jet_imagenet64.py"))
  if arg in SIZES:
    config.model.update(SIZES[arg])
  elif arg:
    raise ValueError(f"configs/jet_imagenet32.py:{arg}: the argument is one of "
                     f"{sorted(SIZES)} or none.")
  config.data.update(name="downsampled_imagenet/32x32", shape=(32, 32, 3))
  return config
