"""Jet's coupling-type ablation (Jet, arXiv 2412.15129, Table 2a and Table 10).

    python -m flowzoo.sweep --config=experiments/jet_couplings.py:toy
    python -m flowzoo.sweep --config=experiments/jet_couplings.py:paper

M channel couplings, then one spatial coupling, repeated (M:1; M = 0 is all spatial),
with the spatial couplings row-wise, column-wise, checkerboard, or cycling through
all of them ('mix', the release's choice), plus all channel couplings: Table 10's 25
models (best 4:1 mix, 3.719 bpd). Table 2a repeats the 'mix' column in masking mode
instead of pairing (the masking column: 3.844, 3.741, 3.727, 3.723, 3.722, 3.722).
'paper' is the ablation setting of section 3.2: ImageNet-1k 64x64, 32 couplings of
ViT depth 2 and width 512, 200 epochs (configs/jet_imagenet64.py). 'toy' runs the
ratios all spatial, 1:1, 4:1 and all channel, mix only, in both modes, on
experiments/backbones.py's toy Jet with 10 couplings, so that 4:1 has two spatial ones.
"""
from flowzoo.config import load_sibling
from flowzoo.models import jet

SCALES = ("toy", "paper")
# Each spatial type with its '-inv' twin, so consecutive spatial couplings
# transform both halves.
SPATIAL = {
    "rows": ("hstripes", "hstripes-inv"),
    "columns": ("vstripes", "vstripes-inv"),
    "checkerboard": ("checkerboard", "checkerboard-inv"),
    "mix": jet.SPATIAL_PATTERNS,
}


def get_config(arg=None):
  scale = arg or "toy"
  if scale not in SCALES:
    raise ValueError(f"config argument {arg!r}: choose one of {SCALES}.")
  if scale == "paper":
    return load_sibling(__file__, "../configs/jet_imagenet64.py")
  config = load_sibling(__file__, "backbones.py", "toy,jet")
  config.model.num_couplings = 10
  return config


def member(m, spatial, mode):
  """M:1 channel:spatial couplings (M=None: all channel) with `spatial` splits, in `mode`."""
  if m is None:
    return {"name": f"all_channel-{mode}", "model.kinds": ("channels",), "model.mode": mode}
  ratio = "all_spatial" if m == 0 else f"{m}to1"
  return {"name": f"{ratio}-{spatial}-{mode}", "model.kinds": ("channels",) * m + ("spatial",),
          "model.spatial_patterns": SPATIAL[spatial], "model.mode": mode}


def get_sweep(arg=None):
  if (arg or "toy") == "toy":
    ratios = (0, 1, 4)
    return ([member(m, "mix", mode) for mode in jet.MODES for m in ratios]
            + [member(None, None, "pairing")])
  ratios = range(6)
  return ([member(m, s, "pairing") for m in ratios for s in SPATIAL]       # Table 10
          + [member(None, None, "pairing")]
          + [member(m, "mix", "masking") for m in ratios])                # Table 2a
