"""Issue 10: the quickstart MixerFlow trains stably on natural photos from step 0.

tests/data/photo_crops.png holds 320 crops of 32x32 from public-domain / CC0 photos
(tests/data/README.md): smooth areas, flat black skies and a few sharp edges. With the
soft-clamped exp scale the couplings could multiply an outlier by up to e^2 each, and
by the 17th step (the learning rate two-thirds up its warm-up) the train bpd jumped
from 6.4 to 1e8..7e13. The quickstart's config is trained here as it is (scale,
optimizer, warm-up, clipping, batch), with shift layers off so that it compiles in
seconds.
"""
import functools
import pathlib

import jax
import numpy as np
import pytest
from PIL import Image

import flowzoo
from flowzoo import models, optim, train

ROOT = pathlib.Path(__file__).resolve().parents[1]
STEPS = 30    # to the end of the quickstart's 30 warm-up steps: the peak learning rate
MAX_BPD = 20  # an identity flow on this data scores about 8 bpd


def photo_crops():
  """uint8 [320, 32, 32, 3] from the 20 x 16 mosaic of tests/data/photo_crops.png."""
  mosaic = np.asarray(Image.open(ROOT / "tests/data/photo_crops.png").convert("RGB"))
  rows, cols = mosaic.shape[0] // 32, mosaic.shape[1] // 32
  return mosaic.reshape(rows, 32, cols, 32, 3).transpose(0, 2, 1, 3, 4).reshape(-1, 32, 32, 3)


@pytest.mark.slow
def test_quickstart_mixerflow_is_stable_on_photo_crops():
  config = flowzoo.load_config(str(ROOT / "configs/mixerflow_quickstart.py"))
  config.model.shift = 0  # one mixer layer to compile, the quickstart's depth to run
  model = models.build_model(config)
  tx = optim.make(config.train)
  crops = photo_crops()
  batch = config.train.batch_size
  order = np.random.default_rng(0).permutation(len(crops))
  batches = [crops[order[i * batch:(i + 1) * batch]] for i in range(len(crops) // batch)]

  state = jax.jit(functools.partial(train.create_state, model, tx))(
      jax.random.PRNGKey(0), batches[0])  # ActNorm initialised on the first batch
  step = jax.jit(functools.partial(train.train_step, model=model, tx=tx,
                                   shape=tuple(config.data.shape)))
  bpd, grad_norm = [], []
  for t in range(STEPS):
    state, metrics = step(state, batches[t % len(batches)])
    bpd.append(float(metrics["train_bpd"]))
    grad_norm.append(float(metrics["grad_norm"]))

  trace = "\n".join(f"step {t + 1}: bpd {b:.4g}, grad norm {g:.3g}"
                    for t, (b, g) in enumerate(zip(bpd, grad_norm)))
  assert np.all(np.isfinite(bpd)) and np.all(np.isfinite(grad_norm)), trace
  assert int(state.skipped) == 0, trace
  assert max(bpd) < MAX_BPD, trace
  assert bpd[-1] < bpd[0] - 1.0, trace  # and it learns
