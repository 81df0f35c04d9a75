"""MixerFlow on Galaxy32 (English, Kirchler, Lippert; arXiv 2310.16777): 2.22 bpd (Table 2); not in TFDS: a folder of 32x32 images.

    python -m flowzoo.main --config=configs/mixerflow_galaxy32.py[:smoke] --config.data.name=folder:/path/to/galaxy32

Table 9's galaxy32 column (configs/mixerflow_table9.py).
"""
from flowzoo.config import load_sibling, parse_arg


def get_config(arg=None):
  arg = parse_arg(arg, smoke=False)
  return load_sibling(__file__, "mixerflow_table9.py", f"dataset=galaxy32,smoke={arg.smoke}")
