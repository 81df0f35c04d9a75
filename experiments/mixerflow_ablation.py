"""The MixerFlow ablation on CIFAR-10 (MixerFlow, arXiv 2310.16777, appendix C, Table 10).

    python -m flowzoo.sweep --config=experiments/mixerflow_ablation.py:toy
    python -m flowzoo.sweep --config=experiments/mixerflow_ablation.py:paper

From the basic model (30 mixer layers, no linear blocks, no shift layers; 3.81 bpd)
one addition at a time: twice the layers (3.52), the LU linear blocks (3.49), the
shift layers (3.58); and the full model (3.46, Table 1). Every other setting is
the paper's CIFAR-10 model (Table 9), or at toy scale experiments/backbones.py's toy
MixerFlow, whose depth doubles the same way.
"""
from flowzoo.config import load_sibling

SCALES = ("toy", "paper")


def get_config(arg=None):
  if (arg or "toy") not in SCALES:
    raise ValueError(f"config argument {arg!r}: choose one of {SCALES}.")
  return load_sibling(__file__, "backbones.py", f"{arg or 'toy'},mixerflow")


def get_sweep(arg=None):
  full = get_config(arg).model
  basic = {"model.linear": "none", "model.shift": 0}
  return [
      {"name": "basic", **basic},
      {"name": "more_layers", **basic, "model.num_layers": 2 * full.num_layers},
      {"name": "linear_blocks", **basic, "model.linear": full.linear},
      {"name": "shift_layers", **basic, "model.shift": full.shift},
      {"name": "full"},
  ]
