"""Glow (flowzoo/models/glow.py): parameter counts, data-dependent init on a sharded
batch, checkpoints, temperature, the factor-out's two modes and config errors.
The round trips and ldj against the dense Jacobian are in the property suite
(tests/cases_glow.py)."""
import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
import pytest
import scipy.stats
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from flowzoo import bijectors as fb
from flowzoo import models
from flowzoo.config import load_config
from flowzoo.models import glow
from flowzoo.nets import ZeroConv
from tests import properties
from tests.commands import CONFIGS


def config(spec):
  return load_config(f"{CONFIGS}/{spec}")


def tiny(**kw):
  return glow.Glow(**{**dict(shape=(8, 8, 3), levels=2, steps_per_level=2, width=8), **kw})


def images(seed, n=16, shape=(8, 8, 3)):
  return jax.random.randint(jax.random.key(seed), (n, *shape), 0, 256).astype(jnp.uint8)


@pytest.fixture(scope="module")
def initialised():
  model = tiny()
  return model, jax.jit(lambda im: models.init_model(model, jax.random.key(0), im))(images(0))


def actnorm_leaves(variables):
  leaves = jax.tree_util.tree_leaves_with_path(variables["params"])
  return {jax.tree_util.keystr(p): l for p, l in leaves if "ActNorm" in jax.tree_util.keystr(p)}


# ---- parameter counts -----------------------------------------------------------


def test_release_count():
  assert models.count_config_params(config("glow_cifar10.py")) == 44_603_604  # openai/glow


def test_port_count():
  """rosinality/glow-pytorch has 44,095,536: its switches (LU stored as
  masked whole L and U matrices, no edge padding, biases in the network, a top prior
  over c channels of zeros) must match it to the parameter."""
  cfg = config("glow_cifar10.py:port")
  assert models.count_config_params(cfg) == 44_095_536
  # The packed LU is the same map with c^2 + c fewer stored numbers per layer.
  cfg.model.conv1x1 = "lu"
  k, channels = cfg.model.steps_per_level, (12, 24, 48)
  assert models.count_config_params(cfg) == 44_095_536 - k * sum(c * c + c for c in channels)


def test_11m_variant_is_near_mixerflow_table1():
  n = models.count_config_params(config("glow_cifar10_11m.py"))
  assert n == 11_216_628
  assert abs(n / 11.02e6 - 1) < 0.02  # MixerFlow Table 1's Glow rows: 11.02M
  # With the port's switches (its masked LU storage and narrower top prior).
  port = models.count_config_params(config("glow_cifar10_11m.py:port"))
  assert port == 11_057_616
  assert abs(port / 11.02e6 - 1) < 0.01


@pytest.mark.parametrize("masked", [False, True])
def test_lu_conv1x1_starts_as_a_random_rotation(masked):
  """The release's LU branch: W = P L U factored from a random rotation, not the identity."""
  layer = fb.LULinear(use_bias=False, masked=masked, rotation_init=True)
  x = jax.random.normal(jax.random.key(0), (5, 4, 4, 6))
  variables = layer.init(jax.random.key(1), x, method="forward")
  z, ldj = layer.apply(variables, x, method="forward")
  w = layer.apply(variables, jnp.eye(6), method="forward")[0].T  # columns W e_i
  np.testing.assert_allclose(w @ w.T, np.eye(6), atol=1e-5)
  assert np.abs(w - np.eye(6)).max() > 0.1
  np.testing.assert_allclose(ldj, 0.0, atol=1e-5)
  np.testing.assert_allclose(jnp.linalg.norm(z, axis=-1), jnp.linalg.norm(x, axis=-1),
                             rtol=1e-5)
  assert set(variables["consts"]) == {"sign", "permutation"}


def test_additive_coupling_network_outputs_the_shift_only():
  cfg = config("glow_cifar10_11m.py")
  cfg.model.coupling = "additive"
  # The last conv of every coupling network (3x3x(512+1) weights, bias, logs) loses
  # half of its c outputs.
  fewer = 8 * sum((9 * 513 + 2) * c // 2 for c in (12, 24, 48))
  assert models.count_config_params(cfg) == 11_216_628 - fewer


@pytest.mark.parametrize("spec", ["glow_imagenet32.py", "glow_imagenet64.py:adam",
                                  "glow_quickstart.py"])
def test_configs_validate(spec):
  cfg = config(spec)
  models.validate(cfg)
  assert cfg.model.name == "glow" and cfg.train.batch_size > 0


@pytest.mark.parametrize("field,value", [
    ("levels", 6), ("levels", 0), ("coupling", "spline"), ("conv1x1", "dense"),
    ("num_bits", 9), ("steps_per_level", 0), ("zero_conv_pad", 0.5)])
def test_bad_model_fields_raise_naming_the_field(field, value):
  cfg = config("glow_quickstart.py")
  cfg.model[field] = value
  with pytest.raises(ValueError, match=f"config.model.{field}"):
    models.validate(cfg)


# ---- ActNorm's data-dependent init ----------------------------------------------


def sharded(x):
  assert jax.device_count() == 8, "tests/conftest.py emulates 8 devices"
  mesh = Mesh(np.array(jax.devices()), ("data",))
  return jax.device_put(x, NamedSharding(mesh, PartitionSpec("data")))


def shifted_batch(shape):
  """Every device's shard has its own mean, so per-shard statistics would show."""
  x = jax.random.normal(jax.random.key(0), shape)
  return 2.0 * x + jnp.arange(shape[0]).reshape(-1, 1, 1, 1) + jnp.arange(shape[-1])


def test_actnorm_init_on_sharded_batch_normalises_the_global_batch():
  """Every ActNorm of a step (the step's and the two of its network)."""
  step = glow.StepOfFlow(16, "affine", "plain", edge_padding=True, net_actnorm=True)
  x = sharded(shifted_batch((16, 4, 4, 8)))
  assert len(x.sharding.device_set) == 8
  rngs = {"params": jax.random.key(1)}
  variables = jax.jit(lambda x: step.init(rngs, x, method="forward"))(x)
  is_actnorm = lambda module, _: isinstance(module, fb.ActNorm)
  _, state = jax.jit(lambda v, x: step.apply(
      v, x, method="forward", capture_intermediates=is_actnorm))(variables, x)
  outputs = [y for (y, _) in jax.tree_util.tree_leaves(
      state["intermediates"], is_leaf=lambda t: isinstance(t, tuple) and len(t) == 2)]
  assert len(outputs) == 3
  for y in outputs:
    np.testing.assert_allclose(jnp.mean(y, axis=(0, 1, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(jnp.std(y, axis=(0, 1, 2)), 1.0, atol=1e-4)


def test_whole_glow_init_on_sharded_batch_equals_single_device_init():
  """Inside the scans too, ActNorm sees the global batch: the first step's ActNorm
  normalises it, and every ActNorm equals the one initialised on one device."""
  model = tiny()
  x = shifted_batch((16, 8, 8, 3)) / 8
  init = jax.jit(lambda x: model.init({"params": jax.random.key(1)}, x, method="forward"))
  on_mesh, on_one = init(sharded(x)), init(jax.device_put(x, jax.devices()[0]))
  first = on_mesh["params"]["flow"]["level0"]["steps"]["layer"]["ActNorm_0"]
  y = (fb.Squeeze()(x)[0] + first["bias"][0]) * jnp.exp(3 * first["logscale"][0])  # stored / 3
  np.testing.assert_allclose(jnp.mean(y, axis=(0, 1, 2)), 0.0, atol=1e-4)
  np.testing.assert_allclose(jnp.std(y, axis=(0, 1, 2)), 1.0, atol=1e-4)
  mesh_leaves, one_leaves = actnorm_leaves(on_mesh), actnorm_leaves(on_one)
  assert len(mesh_leaves) == 2 * 2 * 3  # (bias, logscale) x levels x ActNorms per step
  for path, leaf in mesh_leaves.items():
    np.testing.assert_allclose(leaf, one_leaves[path], rtol=1e-5, atol=1e-5, err_msg=path)


def test_restoring_a_checkpoint_changes_no_actnorm_parameter(tmp_path, initialised):
  model, variables = initialised
  checkpointer = ocp.StandardCheckpointer()
  checkpointer.save(tmp_path / "ckpt", variables)
  checkpointer.wait_until_finished()
  abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, variables)
  restored = checkpointer.restore(tmp_path / "ckpt", abstract)
  before, after = actnorm_leaves(variables), actnorm_leaves(restored)
  assert before.keys() == after.keys() and len(before) == 12
  for path in before:
    np.testing.assert_array_equal(after[path], before[path], err_msg=path)
  # Applying the restored model to other data runs no init: same log-likelihood.
  log_prob = jax.jit(lambda v, im: model.apply(
      v, im, rngs={"dequant": jax.random.key(3)}, method="log_prob"))
  np.testing.assert_array_equal(log_prob(restored, images(1)), log_prob(variables, images(1)))


# ---- priors, temperature and the factor-out ----------------------------------------


def test_sample_spread_grows_with_temperature(initialised):
  model, variables = initialised

  @jax.jit
  def draw(temperature):
    def latents_and_data(m):
      z = m.prior.sample(256, temperature)
      return z, m.inverse(z, temperature=temperature)[0]
    return model.apply(variables, rngs={"sample": jax.random.key(5)}, method=latents_and_data)

  spreads = []
  for t in (0.25, 0.5, 1.0):
    z, x = draw(t)
    assert len(z) == 2  # the factored-out latent of level 1 and the top latent
    for leaf in z:  # the top prior and the factored-out prior, both scaled by T
      np.testing.assert_allclose(np.std(leaf), t, rtol=0.05)
    spreads.append(float(np.std(x)))
  assert spreads[0] < spreads[1] < spreads[2]
  samples = model.apply(variables, 4, temperature=0.7, rngs={"sample": jax.random.key(6)},
                        method="sample")
  assert samples.shape == (4, 8, 8, 3) and samples.dtype == jnp.uint8


def test_log_prob_is_prior_plus_ldj_plus_the_bin_width():
  """With num_bits = 5 the low 3 bits are dropped and each of D dimensions adds 5 ln 2."""
  model = tiny(num_bits=5)
  variables = jax.jit(lambda im: models.init_model(model, jax.random.key(0), im))(images(0))
  rngs = {"dequant": jax.random.key(3)}

  def parts(m, im):
    x, ldj_dequant = m.dequantizer(im)
    z, ldj = m.flow(x)
    return m.prior.log_prob(z) + ldj + ldj_dequant, ldj_dequant, x

  im = images(1)
  total, ldj_dequant, x = model.apply(variables, im, rngs=rngs, method=parts)
  np.testing.assert_allclose(ldj_dequant, -8 * 8 * 3 * 5 * np.log(2), rtol=1e-6)
  np.testing.assert_array_equal(jnp.floor((x + 0.5) * 32), im // 8)
  log_prob = model.apply(variables, im, rngs=rngs, method="log_prob")
  np.testing.assert_allclose(log_prob, total, rtol=1e-6)
  low_bits_changed = model.apply(variables, im ^ 7, rngs=rngs, method="log_prob")
  np.testing.assert_array_equal(low_bits_changed, log_prob)
  samples = model.apply(variables, 4, rngs={"sample": jax.random.key(2)}, method="sample")
  assert np.all(np.asarray(samples) % 8 == 0)


def test_split_drop_mode_adds_the_log_density_of_what_it_drops():
  """The SurVAE factor-out (DenseFlow's squeeze-and-drop) against scipy's normal,
  and keep mode's ldj plus N(eps; 0, I) is the same number."""
  net = lambda out, name: ZeroConv(out, name=name)
  drop = fb.Split(net, keep=False, interleaved=True)
  keep = fb.Split(net, keep=True, interleaved=True)
  x = jax.random.normal(jax.random.key(0), (3, 4, 4, 6))
  variables = properties.perturbed(drop.init(jax.random.key(1), x, method="forward"), 0.2)
  y, ldj = drop.apply(variables, x, method="forward")
  np.testing.assert_array_equal(y, x[..., :3])
  h = ZeroConv(6).apply({"params": variables["params"]["prior"]}, x[..., :3])
  mean, log_std = h[..., 0::2], h[..., 1::2]
  assert float(jnp.max(jnp.abs(log_std))) > 0.05  # a non-trivial conditional prior
  expected = scipy.stats.norm.logpdf(x[..., 3:], mean, np.exp(log_std)).sum(axis=(1, 2, 3))
  np.testing.assert_allclose(ldj, expected, rtol=1e-5)
  (kept, eps), ldj_keep = keep.apply(variables, x, method="forward")
  np.testing.assert_allclose(ldj_keep + fb.normal_log_prob(eps), expected, rtol=1e-5)
  # Inverse: the kept half passes, the dropped half is drawn with std T * exp(log_std).
  big = jnp.tile(y, (64, 1, 1, 1))
  for t in (0.5, 1.5):
    x_new, ldj_inv = drop.apply(variables, big, temperature=t,
                                rngs={"sample": jax.random.key(2)}, method="inverse")
    np.testing.assert_array_equal(x_new[..., :3], big)
    eps = (x_new[..., 3:] - jnp.tile(mean, (64, 1, 1, 1))) * jnp.exp(-jnp.tile(log_std, (64, 1, 1, 1)))
    np.testing.assert_allclose(np.std(eps), t, rtol=0.05)
    z_back, ldj_back = drop.apply(variables, x_new, method="forward")
    np.testing.assert_allclose(ldj_inv, -ldj_back, rtol=1e-5)
