"""MAF alone on MNIST (Papamakarios, Pavlakou, Murray 2017): 1.89 bpd, the "MAF" row of MixerFlow's Table 3 (arXiv 2310.16777).

    python -m flowzoo.main --config=configs/maf_mnist.py[:smoke]

MAF (5): five masked autoregressive layers on the flattened 784 pixels, each with a
MADE of two ReLU layers of 1024 units, 17,311,040 parameters (flowzoo/models/maf.py
says where flowzoo's model departs from the paper's). The recipe is the MAF release's
(gpapamak/maf, experiments.py): Adam at 1e-4, constant, batch 100, no clipping. The
release trains until the validation loss has not improved for 30 epochs and adds an
L2 penalty of 1e-6; flowzoo trains a fixed number of steps without the penalty, and
the 200 epochs here are our choice, not the paper's.
"""
from flowzoo.config import base_config, parse_arg, smoke


def get_config(arg=None):
  arg = parse_arg(arg, smoke=False)
  config = base_config("maf")
  config.model.update(num_mades=5, hidden=(1024, 1024))
  config.data.update(name="mnist", shape=(28, 28, 1))
  config.train.update(batch_size=100, steps=120_000, optimizer="adam", lr=1e-4,
                      schedule="constant", grad_clip=0.0)
  return smoke(config) if arg.smoke else config
