"""Permuted data: local and global pixel shuffling (MixerFlow, arXiv 2310.16777, Tables 4 and 5).

    python -m flowzoo.sweep --config=experiments/permuted.py:toy
    python -m flowzoo.sweep --config=experiments/permuted.py:paper            # CIFAR-10
    python -m flowzoo.sweep --config=experiments/permuted.py:paper_imagenet32

MixerFlow and Glow on the clean data, on 'local_shuffle' (one permutation of the
4x4 patches and one of the pixels inside every patch) and on 'global_shuffle'
(one permutation of all pixels), the same permutation for every image and split
(flowzoo/data/corruptions.py). Published, CIFAR-10 / ImageNet32: global MixerFlow
4.09 / 4.91, Glow 5.18 / 5.27; local MixerFlow 3.49 / 4.24, Glow 4.06 / 4.49. The
paper's Glow here is its large one (44.24M: configs/glow_cifar10.py), beside
MixerFlow's 11.43M. At toy scale both are experiments/backbones.py's toy models.
The argument is SCALE[,BACKBONE].
"""
from flowzoo.config import load_sibling

BACKBONES = ("mixerflow", "glow")
CORRUPTIONS = ("none", "local_shuffle", "global_shuffle")
SCALES = ("toy", "paper", "paper_imagenet32")


def parse(arg):
  scale, _, backbone = (arg or "toy").partition(",")
  backbone = backbone or "mixerflow"
  if scale not in SCALES or backbone not in BACKBONES:
    raise ValueError(f"config argument {arg!r}: give SCALE[,BACKBONE] with SCALE in {SCALES} "
                     f"and BACKBONE in {BACKBONES}.")
  return scale, backbone


def get_config(arg=None):
  scale, backbone = parse(arg)
  if scale == "toy":
    config = load_sibling(__file__, "backbones.py", f"toy,{backbone}")
  elif backbone == "glow":
    name = "glow_cifar10.py" if scale == "paper" else "glow_imagenet32.py"
    config = load_sibling(__file__, f"../configs/{name}")
  else:
    config = load_sibling(__file__, "backbones.py", "paper,mixerflow")
    if scale == "paper_imagenet32":
      config.data.update(name="downsampled_imagenet/32x32", eval_split="validation")
      config.train.steps = 500_000  # MixerFlow Table 9, ImageNet32
  config.data.corruption_patch = 4  # MixerFlow's patch size at 32x32 (Table 9)
  return config


def get_sweep(arg=None):
  scale, _ = parse(arg)
  return [{"arg": f"{scale},{b}", "data.corruption": c, "name": f"{b}-{c}"}
          for b in BACKBONES for c in CORRUPTIONS]
