"""MixerFlow on AnimeFaces (English, Kirchler, Lippert; arXiv 2310.16777): 3.17 bpd (Table 2); not in TFDS: a folder of face crops, resized to 64x64.

    python -m flowzoo.main --config=configs/mixerflow_animefaces.py[:smoke] --config.data.name=folder:/path/to/animefaces

Table 9's animefaces column (configs/mixerflow_table9.py).
"""
from flowzoo.config import load_sibling, parse_arg


def get_config(arg=None):
  arg = parse_arg(arg, smoke=False)
  return load_sibling(__file__, "mixerflow_table9.py", f"dataset=animefaces,smoke={arg.smoke}")
