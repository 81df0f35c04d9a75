"""Flow layers inside MixerFlow (MixerFlow, arXiv 2310.16777, Table 8 and Table 3).

    python -m flowzoo.sweep --config=experiments/mixerflow_flow_layers.py:toy
    python -m flowzoo.sweep --config=experiments/mixerflow_flow_layers.py:paper
    python -m flowzoo.main --config=experiments/mixerflow_flow_layers.py:paper,table8 \
        --config.model.flow_layer=spline --workdir=runs/mixerflow_spline   # one member

Table 8: the same 30-layer MixerFlow on MNIST, 50K steps, with four flow layers:
MLP (affine) coupling 1.57 bpd (3.10M parameters), KAN coupling 1.48 (7.45M),
rational-quadratic spline coupling 1.21 (5.28M), MAF 1.56 (3.83M). Table 3: MAF inside
MixerFlow, MNIST 1.22 and CIFAR-10 3.44, beside MAF alone, 1.89 and 4.31.

The paper gives Table 8's counts but not the model; flowzoo's counts (tests/
test_flow_layers.py) come within 0.3% of all four with Table 9's MNIST column
(configs/mixerflow_mnist.py: patch 4, hidden 64, RLU) plus shift layers of shift 1
every 4th layer, which that column does not have: without them the counts are 2.5%,
5.2%, 3.4% and 2.7% high. The other choices that give the counts, which the paper
leaves open ("default parameter settings ... from their respective source papers",
section 5.6):
  MLP coupling    the residual-MLP conditioner of every flowzoo MixerFlow: 3,108,820
  KAN coupling    affine coupling, conditioner KAN [d1, 64, 2 d2] with G = 5, k = 3
                  (pykan's layer defaults, 10 parameters per edge): 7,452,488
  spline coupling the residual MLP giving 3K - 1 = 11 parameters per feature, K = 4
                  bins (B = 3, the NSF release's image configs): 5,283,850
  MAF             MADE = the residual MLP with MADE masks, in d, out 2d: 3,830,112
The scale function of the affine maps is flowzoo's MixerFlow default (soft-clamped exp).
Table 3's MAF-in-MixerFlow on MNIST is configs/mixerflow_mnist.py (no shift layers, as
Table 9 says, 3,932,942); on CIFAR-10 the paper gives no settings, so flowzoo takes
Table 9's CIFAR-10 column with MAF flow layers (13,871,202). MAF alone is
configs/maf_mnist.py and configs/maf_cifar10.py.

'toy' runs Table 8's four members, MAF in MixerFlow without shift layers and a small
MAF alone on the embedded grayscale flowzoo_shapes, each at experiments/backbones.py's
toy size and recipe. The argument is SCALE[,BASE].
"""
from flowzoo import models
from flowzoo.config import load_sibling

SCALES = ("toy", "paper")
BASES = {
    "toy": ("table8", "mixerflow_maf", "maf"),
    "paper": ("table8", "mixerflow_maf_mnist", "mixerflow_maf_cifar10", "maf_mnist",
              "maf_cifar10"),
}
# Table 8's rows by flowzoo's config.model.flow_layer.
TABLE8 = {"affine": "mlp_coupling", "kan": "kan_coupling", "spline": "spline_coupling",
          "maf": "maf"}


def parse(arg):
  """'toy' | 'paper' [',' base] -> (scale, base)."""
  scale, _, base = (arg or "toy").partition(",")
  base = base or "table8"
  if scale not in SCALES or base not in BASES[scale]:
    raise ValueError(f"config argument {arg!r}: give SCALE[,BASE] with SCALE in {SCALES} "
                     f"and BASE in {BASES}.")
  return scale, base


def _file(name):
  return load_sibling(__file__, f"../configs/{name}")


def paper(base):
  if base == "table8":
    config = _file("mixerflow_mnist.py")
    config.model.update(shift=1, shift_every=4)  # see the module docstring
    config.train.steps = 50_000  # Table 8
    return config
  if base == "mixerflow_maf_cifar10":
    config = _file("mixerflow_cifar10.py")
    config.model.flow_layer = "maf"
    return config
  return _file({"mixerflow_maf_mnist": "mixerflow_mnist.py", "maf_mnist": "maf_mnist.py",
                "maf_cifar10": "maf_cifar10.py"}[base])


def toy(base):
  config = load_sibling(__file__, "backbones.py", "toy,mixerflow")
  config.data.update(name="flowzoo_shapes/gray", shape=(32, 32, 1))
  if base == "maf":
    # 2 MADEs of one layer of 16 on the 1024 pixels: 106,528 parameters.
    config.model = models.default_config("maf")
    config.model.update(num_mades=2, hidden=(16,))
    return config
  config.model.linear = "rlu"  # Table 9, MNIST
  if base == "mixerflow_maf":
    config.model.update(flow_layer="maf", shift=0)  # Table 9, MNIST
  return config


def get_config(arg=None):
  scale, base = parse(arg)
  return toy(base) if scale == "toy" else paper(base)


def get_sweep(arg=None):
  scale, _ = parse(arg)
  table8 = [{"arg": f"{scale},table8", "model.flow_layer": layer, "name": f"table8-{row}"}
            for layer, row in TABLE8.items()]
  table3 = [{"arg": f"{scale},{base}", "name": f"table3-{base}"}
            for base in BASES[scale] if base != "table8"]
  return table8 + table3
