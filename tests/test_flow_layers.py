"""MixerFlow's flow layers and the MAF baseline (arXiv 2310.16777, Tables 3, 8, 9):
parameter counts against Table 8, what the layers promise beyond the property suite
(tests/cases_flow_layers.py), and the configs and sweep that reproduce the tables."""
import functools
import os

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest

import flowzoo
from flowzoo import bijectors as fb
from flowzoo import sweep
from flowzoo.bijectors import spline
from flowzoo.models import count_config_params, count_params
from flowzoo.nets import KAN, MADE, KANLayer, ResMLP
from flowzoo.nets.kan import bspline_basis
from tests.commands import CONFIGS

EXPERIMENT = os.path.join(os.path.dirname(__file__), "..", "experiments",
                          "mixerflow_flow_layers.py")


def _plan(scale):
  return {n: c for n, _, c, _ in sweep.plan(f"{EXPERIMENT}:{scale}", workdir_root="/nonexistent")}


@pytest.fixture(scope="module")
def paper_plan():
  return _plan("paper")


@pytest.mark.parametrize("member,published,exact", [
    # MixerFlow Table 8: MLP coupling 3.10M, KAN coupling 7.45M, splines 5.28M, MAF 3.83M.
    ("table8-mlp_coupling", 3.10e6, 3_108_820),
    ("table8-kan_coupling", 7.45e6, 7_452_488),
    ("table8-spline_coupling", 5.28e6, 5_283_850),
    ("table8-maf", 3.83e6, 3_830_112),
])
def test_table8_parameter_counts(paper_plan, member, published, exact):
  config = paper_plan[member]
  n = count_config_params(config)
  assert n == exact
  assert abs(n - published) / published < 0.03


def test_members_are_the_tables_models(paper_plan):
  table8 = {n: c for n, c in paper_plan.items() if n.startswith("table8-")}
  assert {c.model.flow_layer for c in table8.values()} == {"affine", "kan", "spline", "maf"}
  for config in table8.values():  # the same model and recipe but for the flow layer
    assert config.model.num_layers == 30 and config.train.steps == 50_000
    assert (config.data.name, tuple(config.data.shape)) == ("mnist", (28, 28, 1))
    assert (config.model.shift, config.model.hidden, config.model.linear) == (1, 64, "rlu")
  mnist = paper_plan["table3-mixerflow_maf_mnist"]
  assert mnist.to_dict() == flowzoo.load_config(f"{CONFIGS}/mixerflow_mnist.py").to_dict()
  cifar = paper_plan["table3-mixerflow_maf_cifar10"]
  assert (cifar.data.name, cifar.model.flow_layer, cifar.model.hidden) == ("cifar10", "maf", 128)
  assert {paper_plan[f"table3-maf_{d}"].model.name for d in ("mnist", "cifar10")} == {"maf"}
  toy = _plan("toy")
  assert len(toy) == 6 and {c.data.name for c in toy.values()} == {"flowzoo_shapes/gray"}


def test_mixerflow_mnist_is_table9s_mnist_column():
  config = flowzoo.load_config(f"{CONFIGS}/mixerflow_mnist.py")
  m, t = config.model, config.train
  assert (m.flow_layer, m.num_layers, m.patch_size, m.hidden, m.shift, m.linear) == (
      "maf", 30, 4, 64, 0, "rlu")
  assert (t.lr, t.b1, t.b2, t.steps, t.batch_size, t.grad_clip) == (
      5e-4, 0.9, 0.999, 400_000, 512, 5.0)


def test_mnist_config_reads_mnist_through_tfds(tmp_path):
  import tensorflow_datasets as tfds
  from flowzoo import data
  config = flowzoo.load_config(f"{CONFIGS}/mixerflow_mnist.py")
  config.data.data_dir = str(tmp_path)
  with tfds.testing.mock_data(num_examples=16):  # no download
    datasets = data.get_datasets(config.data, global_batch_size=8, eval_batch_size=8,
                                 seed=0, process_index=0, process_count=1)
    batch = next(datasets.train(0))
  assert batch.shape == (8, 28, 28, 1) and batch.dtype == np.uint8


@pytest.mark.parametrize("field,value", [
    ("flow_layer", "glow"), ("spline_bins", 0), ("spline_bound", 0.0), ("kan_grid", 0),
    ("kan_order", 0)])
def test_mixerflow_validate_names_the_field(field, value):
  config = flowzoo.load_config(f"{CONFIGS}/mixerflow_mnist.py")
  config.model[field] = value
  with pytest.raises(ValueError, match=rf"config\.model\.{field}={value!r}"):
    flowzoo.build_model(config)


@pytest.mark.parametrize("field,value", [
    ("num_mades", 0), ("hidden", ()), ("hidden", (64, 0)), ("scale", "tanh")])
def test_maf_validate_names_the_field(field, value):
  config = flowzoo.load_config(f"{CONFIGS}/maf_mnist.py")
  config.model[field] = value
  with pytest.raises(ValueError, match=rf"config\.model\.{field}="):
    flowzoo.build_model(config)


def test_maf_baseline_parameter_count():
  # MAF (5) on 784 pixels: 5 MADEs [784 -> 1024 -> 1024 -> 1568] and 5 ActNorms.
  config = flowzoo.load_config(f"{CONFIGS}/maf_mnist.py")
  made = 784 * 1024 + 1024 + 1024 * 1024 + 1024 + 1024 * 1568 + 1568
  n = count_config_params(config)
  assert n == 5 * (made + 2 * 784) == 17_311_040


# --- the spline ------------------------------------------------------------------------
def _spline_params(key, shape, bins, std):
  return std * jax.random.normal(key, (*shape, 3 * bins - 1), jnp.float32)


def test_spline_inverse_is_careful_in_float32():
  """Steep, uneven bins; points on the knots, at +-B and in the tails. The inverse is
  finite everywhere and exact to a few float32 roundings of 3, in units of what the
  slope allows: an error of e in x is one of slope * e in y, so a round trip through
  either direction is measured by |error| / (1 + dx/dy). The form of the root matters:
  2c / (-b - sqrt) alone is 25 times worse here where b < 0."""
  bins, bound = 8, 3.0
  params = _spline_params(jax.random.key(0), (8,), bins, 3.0)
  xk, _ = spline._knots(params[..., :bins], bound, 1e-3)
  yk, _ = spline._knots(params[..., bins:2 * bins], bound, 1e-3)
  grid = jnp.broadcast_to(jnp.linspace(-bound - 1, bound + 1, 401, dtype=jnp.float32), (8, 401))
  x = jnp.concatenate([xk, yk, grid], axis=-1)
  p = jnp.broadcast_to(params[:, None], (*x.shape, 3 * bins - 1))
  rq = jax.jit(lambda v, inverse=False: spline.rational_quadratic(v, p, bound, inverse=inverse),
               static_argnames="inverse")
  y, log_slope = rq(x)
  x_back, log_slope_back = rq(y, inverse=True)
  assert bool(jnp.all(jnp.isfinite(x_back))) and bool(jnp.all(jnp.isfinite(log_slope_back)))
  np.testing.assert_array_less(jnp.abs(x_back - x) / (1 + jnp.exp(-log_slope)), 2e-6)
  x_of_y, log_slope_of_y = rq(x, inverse=True)  # the same points as y, knots of y included
  np.testing.assert_array_less(jnp.abs(rq(x_of_y)[0] - x) / (1 + jnp.exp(-log_slope_of_y)), 2e-6)
  np.testing.assert_allclose(log_slope_back, -rq(x_back)[1], atol=1e-3)  # its own log-det
  assert bool(jnp.all(jnp.diff(y[:, 2 * (bins + 1):], axis=-1) >= 0))  # never decreasing
  tails = jnp.abs(x) > bound
  np.testing.assert_array_equal(y[tails], x[tails])
  np.testing.assert_array_equal(log_slope[tails], 0.0)


def test_spline_meets_its_tails_with_slope_one(x64):
  bins, bound = 6, 2.0
  p = _spline_params(jax.random.key(1), (5,), bins, 2.0).astype(jnp.float64)
  edge = jnp.array([-bound, bound], jnp.float64)
  slope = jax.jit(jax.vmap(jax.vmap(jax.grad(
      lambda x, q: spline.rational_quadratic(x, q, bound)[0]), (0, None)), (None, 0)))(edge, p)
  np.testing.assert_allclose(slope, 1.0, rtol=1e-12)


def test_spline_is_the_identity_when_the_conditioner_outputs_zero(x64):
  x = jnp.linspace(-4.0, 4.0, 101, dtype=jnp.float64)
  y, log_slope = jax.jit(spline.rational_quadratic, static_argnums=2)(
      x, jnp.zeros((101, 11), jnp.float64), 3.0)
  np.testing.assert_allclose(y, x, atol=1e-12)
  np.testing.assert_allclose(log_slope, 0.0, atol=1e-12)


# --- MADE and the masked autoregressive layer -----------------------------------------
@pytest.mark.parametrize("net", [functools.partial(ResMLP, hidden=8, made=True),
                                 functools.partial(MADE, hidden=(9, 6))])
def test_made_output_sees_only_earlier_features(net):
  d, per_feature = 5, 2
  model = net(per_feature * d)
  x = jax.random.normal(jax.random.key(0), (16, d))
  variables = model.init(jax.random.key(1), x)
  variables = jax.tree.map(lambda v: v + 0.3 * jax.random.normal(jax.random.key(2), v.shape),
                           variables)
  jac = jax.jit(jax.vmap(jax.jacfwd(lambda v: model.apply(variables, v))))(x)  # [b, out, in]
  seen = np.abs(np.asarray(jac)).sum(axis=0)
  feature = np.arange(per_feature * d) % d
  allowed = np.arange(d)[None, :] < feature[:, None]
  assert not seen[~allowed].any()
  assert np.all(seen[allowed] > 0)  # and every earlier feature is seen


def _scan_lengths(jaxpr):
  lengths = []
  for eqn in jaxpr.eqns:
    if eqn.primitive.name == "scan":
      lengths.append(eqn.params["length"])
    for sub in jax.extend.core.jaxprs_in_params(eqn.params):
      lengths += _scan_lengths(sub)
  return lengths


def test_maf_inverse_is_one_scan_over_the_features():
  layer = fb.MaskedAutoregressive(functools.partial(ResMLP, hidden=8, made=True))
  z = jnp.zeros((2, 3, 7))
  variables = layer.init(jax.random.key(0), z, method="forward")
  inverse = jax.make_jaxpr(lambda v, z: layer.apply(v, z, method="inverse"))(variables, z)
  assert _scan_lengths(inverse.jaxpr) == [7]
  forward = jax.make_jaxpr(lambda v, x: layer.apply(v, x, method="forward"))(variables, z)
  assert _scan_lengths(forward.jaxpr) == []


# --- KAN -------------------------------------------------------------------------------
def test_bsplines_are_a_partition_of_unity_on_the_grid():
  x = jnp.linspace(-1.0, 0.999, 257)
  basis = bspline_basis(x, 5, 3, (-1.0, 1.0))
  assert basis.shape == (257, 8) and float(basis.min()) >= 0
  np.testing.assert_allclose(basis.sum(-1), 1.0, atol=1e-6)
  np.testing.assert_array_equal(bspline_basis(jnp.array([-2.7, 2.7]), 5, 3, (-1.0, 1.0)), 0.0)


def test_kan_has_g_plus_k_plus_2_parameters_per_edge_and_starts_at_zero():
  x = jax.random.normal(jax.random.key(0), (4, 3))
  layer = KANLayer(5, grid=5, order=3)
  assert count_params(jax.eval_shape(layer.init, jax.random.key(1), x)) == 3 * 5 * (5 + 3 + 2)
  net = KAN(6, hidden=4)
  assert not jax.jit(lambda x: net.apply(net.init(jax.random.key(1), x), x))(x).any()
