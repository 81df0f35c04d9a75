"""A Glow of about 11M parameters on CIFAR-10, for comparisons at MixerFlow's size.

    python -m flowzoo.main --config=configs/glow_cifar10_11m.py[:adam][,port][,smoke]

MixerFlow's Table 1 (arXiv 2310.16777) compares against Glow rows of 11.02M
parameters (3.51 bpd on CIFAR-10, 4.32 on ImageNet32), the small Glow of the
Emerging-convolutions and Woodbury papers: L = 3 levels of K = 8 steps with coupling
networks of width 512. With the release's switches that model has 11,216,628
parameters (+1.8%); with ":port" (the PyTorch port's switches) 11,057,616 (+0.3%).
MixerFlow's own CIFAR-10 model has 11,358,342. Everything else is the release's
CIFAR-10 run (configs/glow_cifar10.py).
"""
from flowzoo.config import load_sibling, parse_arg, smoke


def get_config(arg=None):
  arg = parse_arg(arg, adam=False, port=False, smoke=False)
  config = load_sibling(__file__, "glow_cifar10.py", f"adam={arg.adam},port={arg.port}")
  config.model.update(levels=3, steps_per_level=8, width=512)
  return smoke(config) if arg.smoke else config
