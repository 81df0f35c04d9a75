"""DenseFlow: exact parameter counts, the stochastic layers against direct computations,
the block given its noise, BatchNorm's running statistics, sampling, the
importance-weighted bound, and config errors. Parity with the authors' release is in
tests/test_convert_denseflow.py."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from flowzoo import config as fz_config
from flowzoo import models
from flowzoo.bijectors.augment import CrossUnitCoupling
from flowzoo.bijectors.vardequant import Sigmoid, VariationalDequantization
from flowzoo.models import denseflow
from flowzoo.nets.dense import (BatchNorm, DequantizationContext, NoiseNet, ResidualDenseNet,
                                iterative_pinv)
from tests.cases_denseflow import NET
from tests.commands import CONFIGS


def _count(config):
  model = models.build_model(config)
  images = jax.ShapeDtypeStruct((1, *config.data.shape), jnp.uint8)
  shapes = jax.eval_shape(lambda k, x: models.init_model(model, k, x), jax.random.key(0), images)
  return models.count_params(shapes), models.count_params({"params": shapes["params"]["dequantizer"]})


def test_denseflow_74_10_has_the_released_parameter_count():
  # Counted from the release's modules: 128,251,510 in the flow + 2,395,784 in q(u | x).
  assert _count(fz_config.load_config(f"{CONFIGS}/denseflow_cifar10.py")) == (130_647_294, 2_395_784)


def test_denseflow_45_6_and_its_ablation_rows():
  config = fz_config.load_config(f"{CONFIGS}/denseflow_45_6.py")
  assert _count(config) == (75_020_522, 2_395_784)
  config.model.conditioned_noise = False  # Table 4 row 5: no g networks
  assert _count(config)[0] == 75_020_522 - 1_198_152
  config.model.augmentation = False       # row 4: 45 modules on constant widths
  assert _count(config)[0] == 73_133_540


def _block():
  return denseflow.DenseFlowBlock(units=3, modules=1, growth_rate=2, coupling_net=NET)


def test_cross_unit_coupling_widens_by_mu_plus_sigma_eta_and_adds_its_bound_terms():
  x = jax.random.normal(jax.random.key(0), (3, 2, 2, 4))
  earlier = jax.random.normal(jax.random.key(1), (3, 2, 2, 6))
  # White noise (no g): z_aug = [z, eta] and the bound gains -ln N(eta).
  y, ldj = CrossUnitCoupling(5).apply({}, x, rngs={"noise": jax.random.key(2)})
  eta = np.asarray(y[..., 4:], np.float64)
  np.testing.assert_array_equal(y[..., :4], x)
  np.testing.assert_allclose(ldj, -stats.norm.logpdf(eta).sum(axis=(1, 2, 3)), rtol=1e-5)
  np.testing.assert_array_equal(CrossUnitCoupling(5).apply({}, y, inverse=True)[0], x)
  # Conditioned: g(z_<i) gives (mu, raw scale) in two halves, sigma = exp(2 tanh(raw / 2)),
  # and the bound gains sum ln sigma - ln N(eta) (equation 9).
  cross = CrossUnitCoupling(5, NoiseNet)
  variables = cross.init(jax.random.key(3), x, context=earlier)
  variables = jax.tree.map(lambda v: v + 0.1, variables)  # g away from zero
  (y, ldj), state = cross.apply(variables, x, context=earlier,
                                rngs={"noise": jax.random.key(4)}, mutable=["draws"])
  eta = state["draws"]["eta"]
  h = NoiseNet(10).apply({"params": variables["params"]["conditioner"]}, earlier)
  mu, log_sigma = h[..., :5], 2 * np.tanh(h[..., 5:] / 2)
  np.testing.assert_array_equal(y[..., :4], x)
  np.testing.assert_allclose(y[..., 4:], mu + np.exp(log_sigma) * eta, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(
      ldj, (log_sigma - stats.norm.logpdf(np.asarray(eta, np.float64))).sum(axis=(1, 2, 3)),
      rtol=1e-5)


def test_block_bound_given_noise_inverse_recovery_and_sampling():
  x = jax.random.normal(jax.random.key(0), (3, 2, 2, 4))
  block = _block()
  variables = jax.jit(block.init)({"params": jax.random.key(1), "noise": jax.random.key(2)}, x)
  # Pretend training moved g away from zero so that the noise is really conditioned.
  variables = jax.tree.map(lambda v: v + 0.1, variables)
  (z, ldj), state = jax.jit(lambda v, x: block.apply(
      v, x, rngs={"noise": jax.random.key(3)}, capture_intermediates=True,
      mutable=["draws", "intermediates"]))(variables, x)
  # One draw per cross-unit coupling: eta_1 and eta_2, 2 channels each.
  draws = state["draws"]
  assert jax.tree.map(np.shape, draws) == {"cross_unit1": {"eta": (3, 2, 2, 2)},
                                           "cross_unit2": {"eta": (3, 2, 2, 2)}}
  # The bound: the units' and cross-unit couplings' log-dets.
  calls = state["intermediates"]
  parts = sum(calls[name]["__call__"][0][1] for name in
              ("unit0", "unit1", "unit2", "cross_unit1", "cross_unit2"))
  np.testing.assert_allclose(ldj, parts, rtol=1e-5, atol=1e-4)
  # Given the same draws, the block draws nothing and reproduces its output (up to the
  # rounding of another compiled program).
  given = {**variables, "draws": draws}
  z_given, ldj_given = jax.jit(block.apply)(given, x)
  np.testing.assert_allclose(z_given, z, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(ldj_given, ldj, rtol=1e-5, atol=1e-4)
  # With 'draws' mutable the inverse recovers the block input and the noise, with minus
  # the forward's log-det ...
  (x_back, ldj_back), recovered = jax.jit(lambda v, z: block.apply(
      v, z, inverse=True, mutable=["draws"]))(variables, z)
  np.testing.assert_allclose(x_back, x, rtol=1e-4, atol=1e-4)
  for name in ("cross_unit1", "cross_unit2"):
    np.testing.assert_allclose(recovered["draws"][name]["eta"], draws[name]["eta"],
                               rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(ldj_back, -ldj, rtol=1e-4, atol=1e-3)
  # ... and sampling drops the widened channels without evaluating g.
  x_sampled, _ = jax.jit(lambda v, z: block.apply(v, z, inverse=True))(variables, z)
  assert x_sampled.shape == x.shape
  np.testing.assert_allclose(x_sampled, x, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("unbiased", [True, False])
def test_batchnorm_running_variance_as_torch_or_as_flax(unbiased):
  x = 1.0 + 2.0 * jax.random.normal(jax.random.key(0), (4, 3, 2, 5))
  bn = BatchNorm(unbiased_running_var=unbiased)
  variables = bn.init(jax.random.key(1), x, use_running_average=False)
  y, state = bn.apply(variables, x, use_running_average=False, mutable=["batch_stats"])
  rows = np.asarray(x, np.float64).reshape(-1, 5)
  mean, var = rows.mean(axis=0), rows.var(axis=0)  # biased, as both normalise with
  np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-5), rtol=1e-5, atol=1e-5)
  # torch: momentum 0.1 towards the unbiased variance n / (n - 1) var (release); flax: var.
  running = rows.var(axis=0, ddof=1) if unbiased else var
  np.testing.assert_allclose(state["batch_stats"]["mean"], 0.1 * mean, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(state["batch_stats"]["var"], 0.9 + 0.1 * running, rtol=1e-5)
  # Evaluation reads the running statistics.
  y_eval = bn.apply({**variables, **state}, x, use_running_average=True)
  np.testing.assert_allclose(
      y_eval, (x - state["batch_stats"]["mean"]) / np.sqrt(state["batch_stats"]["var"] + 1e-5),
      rtol=1e-5, atol=1e-5)


def test_sigmoid_and_nystrom_pseudo_inverse():
  x = jnp.linspace(-4.0, 4.0, 12).reshape(2, 2, 3)
  y, ldj = Sigmoid().apply({}, x)
  np.testing.assert_allclose(ldj, np.log(y * (1 - y)).sum(axis=(1, 2)), rtol=1e-5)
  np.testing.assert_allclose(Sigmoid().apply({}, y, inverse=True)[0], x, rtol=1e-4, atol=1e-5)
  k = jax.nn.softmax(jax.random.normal(jax.random.key(0), (2, 4, 4)), axis=-2)
  eye = np.broadcast_to(np.eye(4), (2, 4, 4))
  np.testing.assert_allclose(iterative_pinv(k, iterations=30) @ k, eye, atol=1e-5)
  # The release's 6 iterations: an approximation of the inverse.
  np.testing.assert_allclose(iterative_pinv(k) @ k, eye, atol=0.05)


def test_variational_dequantization_bound_terms_and_inverse():
  deq = VariationalDequantization(
      (4, 4, 3), functools.partial(DequantizationContext, features=4, depth=1, growth=2),
      functools.partial(ResidualDenseNet, width=4, depth=1, growth=2), steps=2)
  images = jax.random.randint(jax.random.key(0), (2, 4, 4, 3), 0, 256).astype(jnp.uint8)
  variables = jax.jit(deq.init)({"params": jax.random.key(1), "dequant": jax.random.key(2)},
                                images)
  variables = jax.tree.map(lambda v: v + 0.05, variables)
  x, ldj = jax.jit(lambda v, i: deq.apply(v, i, rngs={"dequant": jax.random.key(3)}))(
      variables, images)
  u = (np.asarray(x) + 0.5) * 256 - np.asarray(images)
  assert np.all((u > -1e-3) & (u < 1 + 1e-3))
  np.testing.assert_array_equal(deq.apply(variables, x, inverse=True)[0], images)
  # ln q(u | x) = ln N(eps) - log|det du/deps| with the Jacobian formed densely.
  eps = jax.random.normal(jax.random.key(4), (1, 2, 2, 12))
  post = lambda e: deq.apply(variables, images[:1], e.reshape(eps.shape), method="posterior")
  u, log_q = jax.jit(post)(eps.ravel())
  jac = jax.jit(jax.jacfwd(lambda e: post(e)[0].ravel()))(eps.ravel())
  base = variables["params"]["base"]
  log_base = stats.norm.logpdf(eps, base["mean"], np.exp(base["log_std"])).sum()
  np.testing.assert_allclose(log_q, log_base - np.linalg.slogdet(jac)[1], rtol=1e-4)
  assert np.all(np.isfinite(ldj))


TINY = dict(shape=(8, 8, 3), units=(2, 1), modules=(1, 1), growth_rate=2, coupling_width=4,
            dense_layers=1, dense_growth=3, dequantization="uniform")


def test_importance_weighted_bound_tightens_with_k_and_samples_have_the_data_shape():
  model = denseflow.DenseFlow(**TINY)
  images = jax.random.randint(jax.random.key(0), (4, 8, 8, 3), 0, 256).astype(jnp.uint8)
  variables = jax.jit(lambda k, x: models.init_model(model, k, x))(jax.random.key(1), images)
  variables = {**variables, "params": jax.tree.map(lambda v: v + 0.05, variables["params"])}
  log_p = jax.jit(jax.vmap(lambda k: model.apply(
      variables, images, rngs=models.rngs(k), method="log_prob")))(
          jax.random.split(jax.random.key(2), 64))  # [64 samples, batch]
  def bound(k):  # mean over 64 / k disjoint groups of k samples: seeds of the estimate
    groups = log_p.reshape(64 // k, k, -1)
    return float(jnp.mean(jax.nn.logsumexp(groups, axis=1) - jnp.log(k)))
  b1, b4, b16, b64 = bound(1), bound(4), bound(16), bound(64)
  assert b1 < b4 < b16 < b64
  samples = jax.jit(lambda v: model.apply(v, 5, rngs={"sample": jax.random.key(3)},
                                          temperature=0.8, method="sample"))(variables)
  assert samples.shape == (5, 8, 8, 3) and samples.dtype == jnp.uint8


@pytest.mark.parametrize("field, value, message", [
    ("units", (6, 4), "same number"),
    ("modules", (5, 0, 20), "each element an integer >= 1"),
    ("dequantization", "logistic", "one of .'variational', 'uniform'."),
    ("coupling_net", "resnet", "one of .'dense_attention', 'glow'."),
    ("landmarks", 3, "must divide"),
    ("growth_rate", 0, "augmentation=False"),
    ("dequant_depth", 0, "an integer >= 1"),
])
def test_validate_names_the_field(field, value, message):
  config = fz_config.load_config(f"{CONFIGS}/denseflow_cifar10.py")
  config.model[field] = value
  with pytest.raises(ValueError, match=f"config.model.{field}=.*{message}"):
    models.validate(config)
