"""MixerFlow on ImageNet64 (English, Kirchler, Lippert; arXiv 2310.16777): 3.92 bpd with 18.90M parameters (Table 1).

    python -m flowzoo.main --config=configs/mixerflow_imagenet64.py[:smoke]

Table 9's imagenet64 column (configs/mixerflow_table9.py).
"""
from flowzoo.config import load_sibling, parse_arg


def get_config(arg=None):
  arg = parse_arg(arg, smoke=False)
  return load_sibling(__file__, "mixerflow_table9.py", f"dataset=imagenet64,smoke={arg.smoke}")
