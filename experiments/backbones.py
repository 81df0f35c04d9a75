"""Backbones at equal size on one dataset (MixerFlow, arXiv 2310.16777, Table 1).

    python -m flowzoo.sweep --config=experiments/backbones.py:toy     # offline, minutes on 2 CPU cores
    python -m flowzoo.sweep --config=experiments/backbones.py:paper   # CIFAR-10 from tfds
    python -m flowzoo.main --config=experiments/backbones.py:paper,jet --workdir=runs/jet11m  # one member

The argument is SCALE[,BACKBONE]: SCALE 'toy' (the embedded flowzoo_shapes, about
0.1M parameters each, the same 200 steps of batch 32) or 'paper' (CIFAR-10 at
MixerFlow's 11.36M parameters, each backbone with its own paper's recipe).
Table 1 compares MixerFlow (3.46 bpd, 11.34M) with Glow (3.51, 11.02M); Jet and
DenseFlow join at the same size. The other experiments start from these configs.
"""
from flowzoo.config import load_sibling

BACKBONES = ("mixerflow", "glow", "jet", "denseflow")
SCALES = ("toy", "paper")


def parse(arg, default_backbone="mixerflow"):
  """'toy' | 'paper' [',' backbone] -> (scale, backbone)."""
  scale, _, backbone = (arg or "toy").partition(",")
  backbone = backbone or default_backbone
  if scale not in SCALES or backbone not in BACKBONES:
    raise ValueError(f"config argument {arg!r}: give SCALE[,BACKBONE] with SCALE in {SCALES} "
                     f"and BACKBONE in {BACKBONES}.")
  return scale, backbone


def _file(name):
  return load_sibling(__file__, f"../configs/{name}")


def toy(backbone):
  """The backbone's quickstart at about 0.1M parameters, 200 steps of batch 32."""
  if backbone == "mixerflow":
    config = _file("mixerflow_quickstart.py")
    config.model.update(num_layers=4, hidden=24)       # 104,448
  elif backbone == "glow":
    config = _file("glow_quickstart.py")               # 100,524
  elif backbone == "jet":
    config = _file("jet_quickstart.py")
    config.model.update(width=32, num_heads=2)         # 103,200
  else:
    config = _file("denseflow_quickstart.py")
    # The released variational dequantization alone has 2.4M parameters, 24 times
    # the toy budget: the toy DenseFlow dequantizes uniformly, as the others do.
    config.model.update(dequantization="uniform", coupling_width=20)  # 101,164
  config.train.update(batch_size=32, steps=200, warmup_steps=20, log_every=50)
  config.checkpoint.every_steps = 100
  config.eval.batch_size = 500
  config.sample.num = 36
  return config


def paper(backbone):
  """CIFAR-10 at MixerFlow's size, 11.36M parameters, each with its paper's recipe."""
  if backbone == "mixerflow":
    config = _file("mixerflow_cifar10.py")  # Table 9's CIFAR-10 model and recipe: 11,358,342
    config.checkpoint.every_steps = 5_000
    return config
  if backbone == "glow":
    return _file("glow_cifar10_11m.py")  # 11,216,628: Table 1's Glow row, L=3, K=8, width 512
  if backbone == "jet":
    config = _file("jet_cifar10.py")
    # 11,643,648: the ablation model's depth-to-width trade at 11M (Jet's Table 3 sizes
    # are 50M and more).
    config.model.update(num_couplings=16, vit_depth=1, width=240, num_heads=4)
    return config
  config = _file("denseflow_cifar10.py")
  # 11,342,930 with the released 2.4M variational dequantization: DenseFlow-74-10's
  # design (3 blocks, growth 6 as DenseFlow-45-6) with fewer units and narrower dense blocks.
  config.model.update(units=(3, 2, 1), modules=(3, 4, 10), growth_rate=6, dense_layers=6,
                      dense_growth=28)
  return config


def get_config(arg=None):
  scale, backbone = parse(arg)
  return toy(backbone) if scale == "toy" else paper(backbone)


def get_sweep(arg=None):
  scale, _ = parse(arg)
  return [{"arg": f"{scale},{b}", "name": b} for b in BACKBONES]
