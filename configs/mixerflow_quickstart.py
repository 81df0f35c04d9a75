"""A small MixerFlow on the embedded flowzoo_shapes dataset, offline: the main job
(configs/quickstart.py). Trains, evaluates, checkpoints, samples and writes a
leaderboard record in about 3 minutes on 2 CPU cores.
"""
from flowzoo.config import base_config, parse_arg


def get_config(arg=None):
  parse_arg(arg)  # no options: refuses any argument
  config = base_config("mixerflow")
  config.model.update(patch_size=4, num_layers=6, hidden=64, shift=1, shift_every=3, flow_layers=2)
  # Jet's coupling scale 2 sigmoid(h) (arXiv 2412.15129, section 3): the identity at zero,
  # as MixerFlow's identity initialisation asks, and at most x2 per coupling. The paper
  # configs' soft-clamped exp allows e^2 per coupling, and on natural photos (flat
  # skies, sharp edges) that compounded: from step 17 the train bpd went to 1e8..7e13
  # (tests/test_stability.py). Glow's sigmoid(h + 2) <= 1 trained as stably but its
  # inverse expands without bound: after 300 steps every sample at temperature 0 was NaN.
  config.model.scale = "sigmoid2"
  config.data.name = "flowzoo_shapes/rgb"
  config.data.shape = (32, 32, 3)
  config.train.update(batch_size=64, steps=300, lr=2e-3, warmup_steps=30, log_every=50)
  config.eval.update(batch_size=500, at_start=True)  # prints the bpd before training too
  config.checkpoint.every_steps = 200
  config.sample.num = 64
  return config
