"""Jet on ImageNet-1k 64x64 (Kolesnikov et al.; arXiv 2412.15129), the big_vision release.

    python -m flowzoo.main --config=configs/jet_imagenet64.py             # released recipe, 3.72 bpd
    python -m flowzoo.main --config=configs/jet_imagenet64.py:table3      # Table 3 model, 3.656 bpd (Table 1)
    python -m flowzoo.main --config=configs/jet_imagenet64.py:smoke       # a minute on CPU

The released recipe (big_vision configs/proj/jet/imagenet64.py): 32 couplings of ViT
depth 2, width 512, 8 heads, four channel couplings then one spatial, the spatial
ones cycling through all six patterns; Adam with b2 0.95, lr 3e-4 with 10% linear
warmup and cosine decay, weight decay 1e-5, global-norm clip 1.0, batch 1024,
200 epochs. The release notes 3.72 bpd for it and 3.66 for the 64-coupling depth-5 one.
"""
from flowzoo.config import base_config, parse_arg, smoke
from flowzoo.models import jet

# Table 3 (ImageNet-1k 64x64): 64 couplings, ViT depth 5, width 512, 8 heads.
TABLE3 = dict(num_couplings=64, vit_depth=5, width=512, num_heads=8)


def get_config(arg=None):
  arg = parse_arg(arg, table3=False, smoke=False)
  config = base_config("jet")
  config.model.update(
      patch_size=4,  # 16x16 = 256 tokens, the paper's choice (section 3)
      num_couplings=32, vit_depth=2, width=512, num_heads=8,
      kinds=("channels",) * 4 + ("spatial",),  # section 3.2.1: M = 4 is best
      spatial_patterns=jet.SPATIAL_PATTERNS)
  if arg.table3:
    config.model.update(TABLE3)
  config.data.update(name="downsampled_imagenet/64x64", shape=(64, 64, 3),
                     eval_split="validation")
  # 200 epochs (section 3.1) * 1,281,149 train images / batch 1024 = 250,224 steps.
  steps = 200 * 1_281_149 // 1024
  config.train.update(
      batch_size=1024,
      steps=steps,
      optimizer="adamw",
      lr=3e-4,
      b2=0.95,  # section 3: "to stabilize training"
      # big_vision decays by wd * schedule(t), optax.adamw by lr * schedule(t) *
      # weight_decay: 1e-5 / lr is the release's decay of 1e-5 per step at the peak.
      weight_decay=1e-5 / 3e-4,
      warmup_steps=steps // 10,  # warmup_percent=0.1: 25,022 steps
      schedule="cosine",
      grad_clip=1.0,
      log_every=50,
  )
  config.checkpoint.every_steps = 5_000
  return smoke(config) if arg.smoke else config
