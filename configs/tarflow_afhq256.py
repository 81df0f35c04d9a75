"""Class-conditional TarFlow on AFHQ 256x256 (Zhai et al.; arXiv 2412.06329), the release's run.

    python -m flowzoo.main --config=configs/tarflow_afhq256.py --config.data.name=folder:PATH
    python -m flowzoo.main --config=configs/tarflow_afhq256.py:smoke   # a minute on CPU, no data

README.md:68-72 ("AFHQ", 8 GPUs): patch 8, width 768, 8 flows of 8 layers, the 3
classes (cat, dog, wild), Gaussian noise of sigma 0.07, batch 256, 4000 epochs, label
dropout 0.1; the optimizer is that of configs/tarflow_imagenet64.py. The release reads
the Kaggle copy README.md:18 links, resized to 256 on the fly (utils.py:127-145): PATH
holds AFHQ's train/ and val/ splits, each with a folder per class (cat, dog, wild). The
release's weights of this run (README.md:86, afhq_model_8_768_8_8_0.07.pth) convert
with flowzoo.convert --source=tarflow.
"""
from flowzoo.config import load_sibling, parse_arg, smoke

# Steps per pass over AFHQ's 14,630 training images (Choi et al. 2020, StarGAN v2's
# release; drop_last=True): set config.train.steps for another copy.
EPOCH = 14_630 // 256


def get_config(arg=None):
  arg = parse_arg(arg, smoke=False)
  config = load_sibling(__file__, "tarflow_imagenet64.py", "generation")
  config.model.update(patch_size=8, num_classes=3, noise_std=0.07)
  config.data.update(name="folder:data/afhq", shape=(256, 256, 3), eval_split="val")
  config.train.update(steps=4000 * EPOCH, warmup_steps=EPOCH)
  config.checkpoint.every_steps = 50 * EPOCH
  config.eval.batch_size = 64
  return smoke(config) if arg.smoke else config
