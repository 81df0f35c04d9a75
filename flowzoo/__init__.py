"""flowzoo: normalizing-flow backbones for images, one trainer, one leaderboard.

    import flowzoo
    config = flowzoo.load_config("configs/mixerflow_cifar10.py")
    model = flowzoo.build_model(config)
    variables = flowzoo.init_model(model, rng, images)       # uint8 [B, H, W, C]
    log_px = model.apply(variables, images, rngs={"dequant": k}, method="log_prob")
    model, variables, config = flowzoo.load(workdir)
"""
import importlib
import os

# TensorFlow runs only the input pipeline (decoding, resizing). It prints C++
# notices when imported, which are not flowzoo's to show; setting these
# variables in the environment keeps them. oneDNN's custom ops speed up
# TensorFlow's own math, of which flowzoo has none, and announce themselves.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

# The Python API, imported when first used: `python -m flowzoo.leaderboard` and
# the records it reads need neither JAX nor TensorFlow, whose imports take
# seconds and most of a gigabyte.
_API = {
    "load": "flowzoo.api",
    "load_config": "flowzoo.config",
    "build_model": "flowzoo.models",
    "count_params": "flowzoo.models",
    "init_model": "flowzoo.models",
    "bits_per_dim": "flowzoo.models.base",
}
__all__ = sorted(_API)


def __getattr__(name):
  if name == "__version__":  # The installed distribution's, as every record says it.
    from flowzoo import records  # pylint: disable=g-import-not-at-top
    return records.flowzoo_version()
  if name in _API:
    return getattr(importlib.import_module(_API[name]), name)
  raise AttributeError(f"module 'flowzoo' has no attribute {name!r}")
