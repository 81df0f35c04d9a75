"""DenseFlow's ablation on CIFAR-10 (DenseFlow, NeurIPS 2021, Table 4).

    python -m flowzoo.sweep --config=experiments/denseflow_ablation.py:toy
    python -m flowzoo.sweep --config=experiments/denseflow_ablation.py:paper

The six rows of Table 4 on DenseFlow-45-6 (configs/denseflow_45_6.py): a standard
flow (3.42 bpd), + latent augmentation (3.40), + pre-conditioned noise (3.37), the
dense intra-module coupling alone (3.14), with augmentation (3.08), everything
(3.07). At toy scale the rows switch the same fields of experiments/backbones.py's
toy DenseFlow; its Glow coupling network is as wide as the toy Glow's.
The argument is SCALE[,ROW].
"""
from flowzoo.config import load_sibling

SCALES = ("toy", "paper")
ROWS = range(1, 7)
SWITCHES = ("augmentation", "conditioned_noise", "coupling_net")


def parse(arg):
  scale, _, row = (arg or "toy").partition(",")
  if scale not in SCALES or row not in ("", *map(str, ROWS)):
    raise ValueError(f"config argument {arg!r}: give SCALE[,ROW] with SCALE in {SCALES} and "
                     "ROW a row of Table 4, 1..6.")
  return scale, int(row or 6)


def get_config(arg=None):
  scale, row = parse(arg)
  paper = load_sibling(__file__, "../configs/denseflow_45_6.py", f"row={row}")
  if scale == "paper":
    return paper
  config = load_sibling(__file__, "backbones.py", "toy,denseflow")
  config.model.update({k: paper.model[k] for k in SWITCHES})
  if config.model.coupling_net == "glow":
    config.model.coupling_width = load_sibling(__file__, "backbones.py", "toy,glow").model.width
  return config


def get_sweep(arg=None):
  scale, _ = parse(arg)
  return [{"arg": f"{scale},{row}", "name": f"row{row}"} for row in ROWS]
