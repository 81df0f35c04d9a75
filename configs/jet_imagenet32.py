"""Jet on ImageNet-1k 32x32 (Kolesnikov et al.; arXiv 2412.15129).

    python -m flowzoo.main --config=configs/jet_imagenet32.py             # the ImageNet64 release's model
    python -m flowzoo.main --config=configs/jet_imagenet32.py:table3      # Table 3 model, 3.931 bpd (Table 1)
    python -m flowzoo.main --config=configs/jet_imagenet32.py:benchmark   # the speed benchmark's size
    python -m flowzoo.main --config=configs/jet_imagenet32.py:smoke       # a minute on CPU

No 32x32 config was released: this one keeps the model and the recipe of the
ImageNet64 release (configs/jet_imagenet64.py) at patch size 4, i.e. 8x8 = 64
tokens; the train split has as many images, so the schedule is the same. (The
paper's default picks the patch size for 256 tokens, i.e. 2 at 32x32; flowzoo's
Table 3 sizes are counted at patch size 4.)
"""
from flowzoo.config import load_sibling, parse_arg, smoke

SIZES = {
    # Table 3 (ImageNet-1k 32x32): 64 couplings, ViT depth 6, width 256, 4 heads.
    "table3": dict(num_couplings=64, vit_depth=6, width=256, num_heads=4),
    # flowzoo's speed benchmark: 8 couplings of depth 2, width 256, 4 heads.
    "benchmark": dict(num_couplings=8, vit_depth=2, width=256, num_heads=4,
                      kinds=("channels", "channels", "spatial"),
                      spatial_patterns=("checkerboard", "checkerboard-inv")),
}


def get_config(arg=None):
  arg = parse_arg(arg, table3=False, benchmark=False, smoke=False)
  if arg.table3 and arg.benchmark:
    raise ValueError("config argument table3,benchmark: choose one size.")
  config = load_sibling(__file__, "jet_imagenet64.py")
  for size in SIZES:
    if arg[size]:
      config.model.update(SIZES[size])
  config.data.update(name="downsampled_imagenet/32x32", shape=(32, 32, 3))
  return smoke(config) if arg.smoke else config
