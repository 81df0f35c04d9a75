"""MixerFlow with MAF flow layers on MNIST (English, Kirchler, Lippert; arXiv 2310.16777): 1.22 bpd (Table 3).

    python -m flowzoo.main --config=configs/mixerflow_mnist.py[:smoke]

Table 9's mnist column (configs/mixerflow_table9.py).
"""
from flowzoo.config import load_sibling, parse_arg


def get_config(arg=None):
  arg = parse_arg(arg, smoke=False)
  return load_sibling(__file__, "mixerflow_table9.py", f"dataset=mnist,smoke={arg.smoke}")
