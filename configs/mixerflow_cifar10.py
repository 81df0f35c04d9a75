"""MixerFlow on CIFAR-10 (English, Kirchler, Lippert; arXiv 2310.16777): 3.46 bpd with 11.34M parameters (Table 1).

    python -m flowzoo.main --config=configs/mixerflow_cifar10.py[:smoke]

Table 9's cifar10 column (configs/mixerflow_table9.py).
"""
from flowzoo.config import load_sibling, parse_arg


def get_config(arg=None):
  arg = parse_arg(arg, smoke=False)
  return load_sibling(__file__, "mixerflow_table9.py", f"dataset=cifar10,smoke={arg.smoke}")
