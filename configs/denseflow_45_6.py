"""DenseFlow-45-6, the model of the paper's ablation on CIFAR-10 (Table 4).

    python -m flowzoo.main --config=configs/denseflow_45_6.py[:row]      # row in 1..6
    python -m flowzoo.main --config=configs/denseflow_45_6.py:row=4,smoke  # a minute on CPU

Blocks of 5, 3, 1 units with 3, 5, 15 glow-like modules, growth rate 6 (section 3.5);
75,020,522 parameters with the released coupling networks. Table 4's rows (3.42, 3.40,
3.37, 3.14, 3.08, 3.07 bpd) switch latent augmentation, pre-conditioned noise and the
intra-module coupling network; rows 1-3 use Glow's coupling network, whose hidden
width the paper does not state (512 here, Glow's). All rows: 300 epochs, then 10 of
fine-tuning ("same training hyperparameters for all models"): the release's recipe.
"""
from flowzoo.config import load_sibling, parse_arg, smoke

# Table 4: (latent augmentation, pre-conditioned noise, dense+attention coupling).
ROWS = {1: (False, False, False), 2: (True, False, False), 3: (True, True, False),
        4: (False, False, True), 5: (True, False, True), 6: (True, True, True)}


def get_config(arg=None):
  arg = parse_arg(arg, row=6, smoke=False)
  if arg.row not in ROWS:
    raise ValueError(f"config argument row={arg.row}: choose a row of Table 4, 1..6.")
  config = load_sibling(__file__, "denseflow_cifar10.py")
  augmentation, conditioned, dense = ROWS[arg.row]
  config.model.update(units=(5, 3, 1), modules=(3, 5, 15), growth_rate=6,
                      augmentation=augmentation, conditioned_noise=conditioned,
                      coupling_net="dense_attention" if dense else "glow",
                      coupling_width=48 if dense else 512)
  config.train.steps = 300 * (50_000 // 64)
  return smoke(config) if arg.smoke else config
