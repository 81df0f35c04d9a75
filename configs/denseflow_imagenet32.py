"""DenseFlow-74-10 on ImageNet 32x32 (downsampled ImageNet), the release's run.

    python -m flowzoo.main --config=configs/denseflow_imagenet32.py[:finetune]

README command: as CIFAR-10 (configs/denseflow_cifar10.py) with --epochs 20 (the
--gamma 0.95 decay never takes effect), then fine-tuning at 2e-5 to 22 epochs;
3.63 bpd (Table 1, IWBO with 200 samples).
"""
import os

from flowzoo.config import load_config

EPOCH = 1_281_149 // 64  # steps per pass over downsampled ImageNet's training images


def get_config(arg=None):
  here = os.path.dirname(__file__)
  config = load_config(os.path.join(here, "denseflow_cifar10.py") + (f":{arg}" if arg else ""))
  config.data.update(name="downsampled_imagenet/32x32", shape=(32, 32, 3),
                     eval_split="validation")
  config.train.steps = (22 if arg == "finetune" else 20) * EPOCH
  config.eval.num_samples = 200  # README: eval_loglik.py --k 200
  return config
