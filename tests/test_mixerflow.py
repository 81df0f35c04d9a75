"""MixerFlow: the paper's parameter counts, its shift layer, and the bpd arithmetic."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flowzoo
from flowzoo import bijectors as fb
from flowzoo.models import count_config_params, mixerflow
from flowzoo.models.base import ImageFlow
from tests.commands import CONFIGS


@pytest.mark.parametrize("config_file,published,exact", [
    # MixerFlow (arXiv 2310.16777) Table 1: 11.34M on CIFAR-10, 18.90M on ImageNet64.
    ("mixerflow_cifar10.py", 11.34e6, 11_358_342),
    ("mixerflow_imagenet64.py", 18.90e6, 18_901_062),
])
def test_parameter_count_matches_paper(config_file, published, exact):
  config = flowzoo.load_config(f"{CONFIGS}/{config_file}")
  n = count_config_params(config)
  assert n == exact
  assert abs(n - published) / published < 0.03


def test_shift_layer_leaves_the_frame_alone():
  h = w = 6
  p, s = 2, 1
  layer = mixerflow.ShiftLayer(mixerflow.MixerLayer(8, "lu", 2, "exp_clamp"), (h, w), p, s)
  x = jax.random.normal(jax.random.key(0), (3, (h // p) * (w // p), p * p * 2))
  variables = layer.init(jax.random.key(1), x, method="forward")
  variables = jax.tree.map(lambda v: v + 0.1, variables)  # not the identity
  z, _ = layer.apply(variables, x, method="forward")
  image_x = fb.unpatchify(x, h, w, p, p)
  image_z = fb.unpatchify(z, h, w, p, p)
  inner = np.zeros((h, w), bool)
  inner[s:h - p + s, s:w - p + s] = True
  np.testing.assert_array_equal(image_z[:, ~inner], image_x[:, ~inner])
  assert not np.allclose(image_z[:, inner], image_x[:, inner])


class _IdentityFlow(ImageFlow):
  """Dequantization and a standard normal with nothing between: a bpd you can do by hand."""
  shape: tuple
  scale: float
  offset: float

  def setup(self):
    self.dequantizer = fb.UniformDequantization(self.scale, self.offset)
    self.flow = fb.Chain([])
    self.prior = fb.StandardNormal(self.shape)


@pytest.mark.parametrize("scale,offset,bin_bits", [
    (1 / 256, -0.5, 8.0),                  # Glow, MixerFlow: x/256 - 1/2, bins of 2^-8
    (1 / 127.5, -1.0, np.log2(127.5)),     # Jet: x/127.5 - 1, bins of 1/127.5
])
def test_bpd_constant_against_hand_computation(scale, offset, bin_bits):
  shape = (4, 4, 3)
  model = _IdentityFlow(shape, scale, offset)
  images = jax.random.randint(jax.random.key(0), (5, *shape), 0, 256).astype(jnp.uint8)
  key = jax.random.key(1)
  log_px = model.apply({}, images, rngs={"dequant": key}, method="log_prob")
  bpd = flowzoo.bits_per_dim(log_px, shape)
  # The dequantized data of that call (the same rng path draws the same noise)...
  x_cont, _ = model.apply({}, images, rngs={"dequant": key}, method=lambda m, x: m.dequantizer(x))
  u = np.asarray(x_cont, np.float64) / scale - offset / scale - np.asarray(images, np.float64)
  assert u.min() >= -1e-3 and u.max() < 1 + 1e-3 and u.std() > 0.2  # uniform noise in one bin
  # ... and its bpd by hand, every constant written out.
  x = np.asarray(x_cont, np.float64)
  by_hand = (0.5 * np.mean(x**2, axis=(1, 2, 3)) + 0.5 * np.log(2 * np.pi)) / np.log(2) + bin_bits
  np.testing.assert_allclose(bpd, by_hand, rtol=0, atol=1e-4)


def test_identity_flow_on_uniform_noise_scores_b_bits_under_a_uniform_prior():
  """The dequantizer alone charges exactly b bits per dimension."""
  shape = (8, 8, 3)
  images = jax.random.randint(jax.random.key(0), (16, *shape), 0, 256).astype(jnp.uint8)
  deq = fb.UniformDequantization(1 / 256, 0.0)
  x, ldj = deq.apply({}, images, rngs={"dequant": jax.random.key(1)}, method="forward")
  # Under U[0, 1)^D, log p(x_cont) = 0, so bpd = -ldj / (D ln 2) = 8.
  assert float(jnp.min(x)) >= 0 and float(jnp.max(x)) < 1
  np.testing.assert_allclose(flowzoo.bits_per_dim(ldj, shape), 8.0, rtol=1e-6)
  back, _ = deq.apply({}, x, inverse=True, method="__call__")
  np.testing.assert_array_equal(back, images)


@pytest.mark.parametrize("field,value", [
    ("shift", 4), ("shift_every", 0), ("linear", "plu"), ("scale", "tanh"), ("patch_size", 3)])
def test_validate_names_the_field(field, value):
  config = flowzoo.load_config(f"{CONFIGS}/mixerflow_cifar10.py")
  config.model[field] = value
  with pytest.raises(ValueError, match=rf"config\.model\.{field}"):
    flowzoo.build_model(config)
