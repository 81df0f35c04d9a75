"""DenseFlow-74-10 on ImageNet 32x32 (downsampled ImageNet), the release's run.

    python -m flowzoo.main --config=configs/denseflow_imagenet32.py[:finetune][,smoke]

README command: as CIFAR-10 (configs/denseflow_cifar10.py) with --epochs 20 (the
--gamma 0.95 decay never takes effect), then fine-tuning at 2e-5 to 22 epochs;
3.63 bpd (Table 1, IWBO with 200 samples).
"""
from flowzoo.config import load_sibling, parse_arg, smoke

EPOCH = 1_281_149 // 64  # steps per pass over downsampled ImageNet's training images


def get_config(arg=None):
  arg = parse_arg(arg, finetune=False, smoke=False)
  config = load_sibling(__file__, "denseflow_cifar10.py", f"finetune={arg.finetune}")
  config.data.update(name="downsampled_imagenet/32x32", shape=(32, 32, 3),
                     eval_split="validation")
  config.train.steps = (22 if arg.finetune else 20) * EPOCH
  config.eval.num_samples = 200  # README: eval_loglik.py --k 200
  return smoke(config) if arg.smoke else config
