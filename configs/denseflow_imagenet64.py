"""DenseFlow-74-10 on ImageNet 64x64 (downsampled ImageNet), the release's run.

    python -m flowzoo.main --config=configs/denseflow_imagenet64.py[:finetune][,smoke]

README command: as CIFAR-10 (configs/denseflow_cifar10.py) with --epochs 10
--batch_size 32, then fine-tuning at 2e-5 to 11 epochs; 3.35 bpd (Table 1, IWBO with
200 samples). The architecture, and so the parameter count, is the 32x32 one.
"""
from flowzoo.config import load_sibling, parse_arg, smoke

EPOCH = 1_281_149 // 32  # steps per pass over downsampled ImageNet's training images


def get_config(arg=None):
  arg = parse_arg(arg, finetune=False, smoke=False)
  config = load_sibling(__file__, "denseflow_cifar10.py", f"finetune={arg.finetune}")
  config.data.update(name="downsampled_imagenet/64x64", shape=(64, 64, 3),
                     eval_split="validation")
  config.train.update(batch_size=32, steps=(11 if arg.finetune else 10) * EPOCH)
  config.eval.update(batch_size=25, num_samples=200)  # README: --k 200 --kbs 25
  return smoke(config) if arg.smoke else config
