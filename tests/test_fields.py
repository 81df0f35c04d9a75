"""Config fields declared once on each backbone's module (flowzoo/models/fields.py):
defaults that pass their checks, refusals that name the field, and num_bits with one
meaning everywhere: the bits kept of the 8-bit data."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flowzoo import config as fconfig
from flowzoo import models
from flowzoo.models import fields
from flowzoo.models.mixerflow import MixerFlow


def _config(name, shape=(32, 32, 3), **changes):
  config = fconfig.base_config(name)
  config.data.shape = shape
  for key, value in changes.items():
    # Replaced, not assigned: a ConfigDict refuses a value of another type.
    if key in config.model:
      del config.model[key]
    config.model[key] = value
  return config


@pytest.mark.parametrize("name", models.names())
def test_every_default_passes_its_check_and_every_field_says_what_it_is(name):
  declared = fields.config_fields(models.backbone(name))
  assert set(models.default_config(name)) == {"name", *declared}
  for key, f in declared.items():
    f.metadata["check"](f"config.model.{key}", f.default)
    assert len(f.metadata["doc"]) > 10, key
  models.validate(_config(name))


@pytest.mark.parametrize("name,field,value,wants", [
    ("jet", "num_couplings", 0, "an integer >= 1"),             # at_least
    ("jet", "patch_size", 4.0, "an integer >= 1"),              # not an integer
    ("jet", "patch_size", math.nan, "an integer >= 1"),         # not finite
    ("jet", "num_bits", 9, "an integer in 1..8"),               # in_range
    ("tarflow", "noise_std", math.inf, "a finite number > 0"),  # positive, not finite
    ("mixerflow", "spline_bound", -1.0, "a finite number > 0"),
    ("jet", "mode", "stacking", "one of ('pairing', 'masking')"),  # one_of
    ("glow", "zero_conv_pad", 0.5, "one of (0.0, 1.0)"),
    ("jet", "kinds", (), "a non-empty tuple"),                  # sequence_of
    ("maf", "hidden", (64, 0), "a non-empty tuple, each element an integer >= 1"),
    ("glow", "learn_top", 1, "True or False"),                  # boolean
])
def test_a_bad_value_of_each_kind_of_check_is_refused_naming_the_field(name, field, value,
                                                                      wants):
  with pytest.raises(ValueError) as error:
    models.validate(_config(name, **{field: value}))
  assert str(error.value).startswith(f"config.model.{field}={value!r} must be {wants}")


@pytest.mark.parametrize("name", models.names())
@pytest.mark.parametrize("bits", [0, 9])
def test_num_bits_outside_1_to_8_is_refused_on_8_bit_data(name, bits):
  with pytest.raises(ValueError, match=rf"config\.model\.num_bits={bits} .*8-bit"):
    models.validate(_config(name, num_bits=bits))


def test_an_unknown_field_is_refused_with_the_nearest_name():
  with pytest.raises(ValueError, match=r"config\.model\.widht .*did you mean "
                                       r"config\.model\.width\?"):
    models.validate(_config("jet", widht=256))
  # compute_dtype is the trainer's (config.train.compute_dtype), not a field.
  with pytest.raises(ValueError, match=r"config\.model\.compute_dtype is not a field"):
    models.validate(_config("tarflow", compute_dtype="bfloat16"))
  # An older flowzoo's remat, as the config.json of its runs holds it.
  with pytest.raises(ValueError, match=r"config\.model\.remat is not a field of Jet: it is "
                                       r"now config\.model\.backprop, and remat=True is "
                                       r"backprop='remat'"):
    models.validate(_config("jet", remat=True))


def test_tarflow_refuses_invertible_backprop_saying_why():
  with pytest.raises(ValueError, match=r"config\.model\.backprop='invertible' .*"
                                       r"autoregressive.*backprop='remat'"):
    models.validate(_config("tarflow", backprop="invertible"))


def test_build_model_takes_lists_as_tuples_and_ints_as_floats():
  model = models.build_model(_config("maf", hidden=[32, 16]))
  assert model.hidden == (32, 16)
  model = models.build_model(_config("glow", zero_conv_pad=1))
  assert model.zero_conv_pad == 1.0 and isinstance(model.zero_conv_pad, float)


def test_mixerflow_at_5_bits_scores_the_top_5_bits_as_5_bit_data():
  """MixerFlow's num_bits once set only the bin width: at 5 on 8-bit data its bound was
  wrong by 3 bits per dimension without an error. Now the low 3 bits are dropped."""
  shape = (4, 4, 3)
  d = int(np.prod(shape))
  model = MixerFlow(shape=shape, patch_size=2, num_layers=1, hidden=8, shift=0,
                    flow_layers=1, num_bits=5)
  images = jax.random.randint(jax.random.key(0), (3, *shape), 0, 256).astype(jnp.uint8)
  variables = models.init_model(model, jax.random.key(1), images)
  u = jax.random.uniform(jax.random.key(2), images.shape)
  given = {**variables, "draws": {"dequantizer": {"layers_1": {"u": u}}}}
  log_prob = model.apply(given, images, method="log_prob")
  np.testing.assert_array_equal(model.apply(given, images ^ 7, method="log_prob"), log_prob)

  # By hand: the 5-bit data k = images >> 3 dequantized into [-1/2, 1/2) in bins of
  # 1/32, whose ldj is D ln(1/32) = -D 5 ln 2 (not the 8-bit -D 8 ln 2).
  x_dequant, ldj_dequant = model.apply(given, images, method=lambda m, x: m.dequantizer(x))
  np.testing.assert_array_equal(ldj_dequant, np.full(3, -d * 5 * np.log(2), np.float32))
  x = ((images >> 3).astype(np.float32) + u) / 32 - 0.5
  np.testing.assert_array_equal(x_dequant, x)
  z, ldj = model.apply(variables, x, method=lambda m, x: m.flow(x))
  log_pz = model.apply(variables, z, method=lambda m, z: m.prior.log_prob(z))
  np.testing.assert_allclose(log_prob, log_pz + ldj - d * 5 * np.log(2), rtol=1e-6)
  # The inverse gives 8-bit images again, their low bits zero.
  back, _ = model.apply(given, x, inverse=True, method=lambda m, x, inverse: m.dequantizer(
      x, inverse=inverse))
  np.testing.assert_array_equal(back, images & 0xF8)
