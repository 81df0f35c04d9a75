"""Jet on CIFAR-10 (Kolesnikov et al.; arXiv 2412.15129), trained from scratch.

    python -m flowzoo.main --config=configs/jet_cifar10.py           # the ImageNet64 release's model
    python -m flowzoo.main --config=configs/jet_cifar10.py:table3    # Table 3's ImageNet-21k 32x32 model
    python -m flowzoo.main --config=configs/jet_cifar10.py:smoke     # a minute on CPU

The paper's CIFAR-10 result (3.018 bpd, Table 1) finetunes its ImageNet-21k 32x32
model (Table 3: 64 couplings, ViT depth 6, width 768, 12 heads) for 100 epochs at
lr 3e-6; flowzoo has no ImageNet-21k pretraining, so this config trains that
model, or by default the ImageNet64 release's, from scratch with the release's
recipe (configs/jet_imagenet64.py) for 200 epochs of CIFAR-10.
"""
from flowzoo.config import load_sibling, parse_arg, smoke

# Table 3 (ImageNet-21k 32x32, the model finetuned on CIFAR-10): 64 couplings,
# ViT depth 6, width 768, 12 heads.
TABLE3 = dict(num_couplings=64, vit_depth=6, width=768, num_heads=12)


def get_config(arg=None):
  arg = parse_arg(arg, table3=False, smoke=False)
  config = load_sibling(__file__, "jet_imagenet64.py")
  if arg.table3:
    config.model.update(TABLE3)
  config.data.update(name="cifar10", shape=(32, 32, 3), eval_split="test")
  # 200 epochs * 50,000 train images / batch 1024 = 9,765 steps.
  steps = 200 * 50_000 // 1024
  config.train.update(steps=steps, warmup_steps=steps // 10)  # 976 warmup steps
  config.checkpoint.every_steps = 1_000
  return smoke(config) if arg.smoke else config
