"""Class-conditional TarFlow on ImageNet 128x128 (Zhai et al.; arXiv 2412.06329), the release's run.

    python -m flowzoo.main --config=configs/tarflow_imagenet128.py[:smoke]

README.md:62-66 ("Conditional ImageNet128", 32 GPUs): patch 4, width 1024, 8 flows of
8 layers, 1000 classes, Gaussian noise of sigma 0.15, batch 768, 320 epochs, label
dropout 0.1, on ImageNet-1k resized from the original images; the optimizer and the
data are those of configs/tarflow_imagenet64.py:generation.
"""
from flowzoo.config import load_sibling, parse_arg, smoke

EPOCH = 1_281_167 // 768  # steps per pass over ImageNet-1k's train split (drop_last=True)


def get_config(arg=None):
  arg = parse_arg(arg, smoke=False)
  config = load_sibling(__file__, "tarflow_imagenet64.py", "generation")
  config.model.update(patch_size=4, width=1024, noise_std=0.15)
  config.data.shape = (128, 128, 3)
  config.train.update(batch_size=768, steps=320 * EPOCH, warmup_steps=EPOCH)
  config.checkpoint.every_steps = EPOCH
  return smoke(config) if arg.smoke else config
