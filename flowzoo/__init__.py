"""flowzoo: normalizing-flow backbones for images, one trainer, one leaderboard.

    import flowzoo
    config = flowzoo.load_config("configs/mixerflow_cifar10.py")
    model = flowzoo.build_model(config)
    variables = flowzoo.init_model(model, rng, images)       # uint8 [B, H, W, C]
    log_px = model.apply(variables, images, rngs={"dequant": k}, method="log_prob")
    model, variables, config = flowzoo.load(workdir)
"""
__version__ = "0.1.0"

from flowzoo.api import load
from flowzoo.config import load_config
from flowzoo.models import build_model, count_params, init_model
from flowzoo.models.base import bits_per_dim
