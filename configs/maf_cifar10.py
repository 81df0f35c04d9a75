"""MAF alone on CIFAR-10 (Papamakarios, Pavlakou, Murray 2017): 4.31 bpd, the "MAF" row of MixerFlow's Table 3 (arXiv 2310.16777).

    python -m flowzoo.main --config=configs/maf_cifar10.py[:smoke]

The MAF release (gpapamak/maf, run_experiments.py) trains MAF (5) and MAF (10) on
CIFAR-10, each with MADEs of one or two ReLU layers of 1024 or of 2048 units, and the
table gives one of them; which, neither MixerFlow's paper nor the release says.
flowzoo takes MAF (10) with two layers of 1024: an open choice, 105,000,960 parameters.
The recipe is the release's as in configs/maf_mnist.py (Adam at 1e-4, batch 100, and
our 200 epochs); the release also adds the mirrored training images, flowzoo does not.
"""
from flowzoo.config import load_sibling, parse_arg, smoke


def get_config(arg=None):
  arg = parse_arg(arg, smoke=False)
  config = load_sibling(__file__, "maf_mnist.py")
  config.model.num_mades = 10
  config.data.update(name="cifar10", shape=(32, 32, 3))
  config.train.steps = 100_000  # 200 epochs of CIFAR-10's 50,000 images at batch 100
  return smoke(config) if arg.smoke else config
