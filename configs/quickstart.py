"""The main job: the MixerFlow quickstart (configs/mixerflow_quickstart.py), offline.

Trains, evaluates, checkpoints, samples and writes a leaderboard record in about
3 minutes on 2 CPU cores:  python -m flowzoo.main --config=configs/quickstart.py
Each backbone's own quickstart is configs/<backbone>_quickstart.py.
"""
from flowzoo.config import load_sibling


def get_config(arg=None):
  return load_sibling(__file__, "mixerflow_quickstart.py", arg)
