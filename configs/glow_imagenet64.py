"""Glow on ImageNet 64x64 (van den Oord's downsampled ImageNet), the openai/glow release's run.

    python -m flowzoo.main --config=configs/glow_imagenet64.py[:adam][,port][,smoke]

README command: train.py --problem imagenet-oord --image_size 64 --n_level 4 --depth 48
--flow_permutation 2 --flow_coupling 1 --learntop --lr 0.001 --n_bits_x 8; the paper's
appendix table of hyperparameters: batch 128, L = 4, K = 48, affine; 3.81 bpd (Table 2).
"""
from flowzoo.config import load_sibling, parse_arg, smoke


def get_config(arg=None):
  arg = parse_arg(arg, adam=False, port=False, smoke=False)
  config = load_sibling(__file__, "glow_cifar10.py", f"adam={arg.adam},port={arg.port}")
  config.model.update(levels=4, steps_per_level=48)  # --n_level 4 --depth 48
  config.data.update(name="downsampled_imagenet/64x64", shape=(64, 64, 3),
                     eval_split="validation")
  # The release scales its per-GPU batch by (32/64)^2 to 16, 128 over 8 GPUs, and
  # counts warmup and beta2 in images of the 32x32 anchor batch of 512, so the
  # warmup (976 steps) and b2 of the 32x32 recipe hold in steps.
  config.train.batch_size = 128
  # flowzoo's budget: 1,000,000 steps of 128 images, about 100 passes over ImageNet.
  config.train.steps = 1_000_000
  config.eval.batch_size = 128
  return smoke(config) if arg.smoke else config
