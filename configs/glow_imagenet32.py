"""Glow on ImageNet 32x32 (van den Oord's downsampled ImageNet), the openai/glow release's run.

    python -m flowzoo.main --config=configs/glow_imagenet32.py[:adam][,port][,smoke]

README command: train.py --problem imagenet-oord --image_size 32 --n_level 3 --depth 48
--flow_permutation 2 --flow_coupling 1 --learntop --lr 0.001 --n_bits_x 8; the paper's
appendix table of hyperparameters: batch 512, L = 3, K = 48, affine; 4.09 bpd (Table 2).
The recipe is the release's at 32x32 (configs/glow_cifar10.py).
"""
from flowzoo.config import load_sibling, parse_arg, smoke


def get_config(arg=None):
  arg = parse_arg(arg, adam=False, port=False, smoke=False)
  config = load_sibling(__file__, "glow_cifar10.py", f"adam={arg.adam},port={arg.port}")
  config.model.steps_per_level = 48  # --depth 48
  config.data.update(name="downsampled_imagenet/32x32", shape=(32, 32, 3),
                     eval_split="validation")
  # flowzoo's budget: 400,000 steps of 512 images, about 160 passes over ImageNet's
  # 1.28M images (the release trains until stopped).
  config.train.steps = 400_000
  return smoke(config) if arg.smoke else config
