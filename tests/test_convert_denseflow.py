"""The official DenseFlow release's weights in flowzoo's DenseFlow give the release's outputs.

tests/data/parity/denseflow_official_small.npz (its section of the parity README) holds
a small DenseFlow built by the authors' code, its state_dict, two images, every random
tensor its forward pass draws and its outputs per component, in float32 (out32/), in
float64 (out64/) and for one train-mode pass (train32/). Here:
  - each component is fed the reference's own input tensors (and noise), so that a
    disagreement points at one component: q(u | x), every unit, every cross-unit
    coupling, the transitions and the prior;
  - the whole log_prob is given the fixture's noise as draws;
  - one train-mode pass moves BatchNorm's running statistics as torch moved them;
  - deliberately wrong loads miss by far, and bad checkpoints raise errors naming
    the tensor.
Tolerances: float64 agrees to 1e-9 relative (observed ~1e-15); float32 per component to
1e-4 relative (observed <= 7e-6); a float32 total of about 1.9e4 nats only to a few
float32 spacings (2^-9 = 0.002 nats each), see the fixture's README.

Each function is compiled once per precision, without XLA's backend optimisations (the
same operations; half the compile time of a program that runs once). The float64 tests
come last: the module-scoped x64 fixture stays on from the first test that asks for it.
"""
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flowzoo import bijectors as fb
from flowzoo import convert, models
from flowzoo.bijectors.augment import CrossUnitCoupling
from flowzoo.convert import denseflow as convert_denseflow
from flowzoo.models import denseflow
from flowzoo.nets.dense import NoiseNet
from tests import parity
from tests.parity import cast, nhwc

FIXTURE = parity.path("denseflow")
TOL64 = 1e-9    # relative, float64
TOL32 = 1e-4    # relative, float32, per component
TOTAL32 = 4e-3  # nats: two float32 spacings at 1.9e4 nats
STATS32 = 1e-6  # relative, BatchNorm's running statistics after a float32 pass (~8e-8)
WRONG = 1e-3    # relative: a wrong load misses the reference by more than this
FAST_COMPILE = {"xla_backend_optimization_level": 0}
D = 32 * 32 * 3
# The release's -ln 256 per dimension is a float32 constant; flowzoo's is exact.
LN256_ROUNDING = D * (float(np.float32(-np.log(256.0))) + np.log(256.0))

COMPONENTS = [
    "deq/u", "deq/log_q", "shift/z", "dequant/ldj",
    "block0/unit0/z", "block0/unit0/ldj", "block0/cross1/eta_hat", "block0/cross1/delta",
    "block0/unit1/z", "block0/unit1/ldj", "block0/cross2/eta_hat", "block0/cross2/delta",
    "block0/unit2/z", "block0/unit2/ldj", "transition0/z", "transition0/ldj",
    "block1/unit0/z", "block1/unit0/ldj", "block1/cross1/eta_hat", "block1/cross1/delta",
    "block1/unit1/z", "block1/unit1/ldj", "transition1/z", "transition1/ldj",
    "block2/unit0/z", "block2/unit0/ldj", "prior/log_prob"]


def _config():
  return parity.config("denseflow")


def _rel(a, b):
  """Largest absolute difference, relative to the largest reference magnitude."""
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.fixture(scope="module")
def ref():
  return parity.arrays("denseflow")


@pytest.fixture(scope="module")
def arrays():
  return convert.read(FIXTURE, prefix="state_dict/")


@pytest.fixture(scope="module")
def model():
  return models.build_model(_config())


@pytest.fixture(scope="module")
def variables(arrays):
  return convert.convert("denseflow", arrays, _config(), "the fixture")


def _draws(ref, dtype):
  """The fixture's noise in flowzoo's draws layout: the dequantizer's standard normal
  base draw, and the eta of every cross-unit coupling."""
  eta = lambda b, i: {"eta": nhwc(ref[f"noise/block{b}/unit{i}_eta"])}
  return cast({
      "dequantizer": {"base": {"eps": nhwc(ref["noise/dequant_base"])}},
      "flow": {"layers_1": {"cross_unit1": eta(0, 1), "cross_unit2": eta(0, 2)},
               "layers_3": {"cross_unit1": eta(1, 1)}}}, dtype)


def _reference(ref, out, dtype):
  """The reference's tensors of run `out` (NHWC), its noise and images."""
  r = {k[len(out):]: nhwc(a) for k, a in ref.items() if k.startswith(out)}
  r.update({k: nhwc(a) for k, a in ref.items() if k.startswith("noise/")})
  r = cast(r, dtype)
  r["images"] = nhwc(ref["images"])
  return r


def _components(model, variables, r):
  """flowzoo's outputs of every component, each fed the reference's inputs."""
  out, bound = {}, model.bind(variables)
  base = variables["params"]["dequantizer"]["base"]
  eps = base["mean"] + jnp.exp(base["log_std"]) * r["noise/dequant_base"]
  out["deq/u"], out["deq/log_q"] = bound.dequantizer.posterior(r["images"], eps)
  out["shift/z"], out["dequant/ldj"] = bound.dequantizer(r["images"])  # the draws' eps
  x = fb.Squeeze().apply({}, r["shift/z"])[0]
  for b in range(3):
    block = bound.flow.layers[2 * b + 1]
    gr = block.growth_rate
    params = variables["params"]["flow"][f"layers_{2 * b + 1}"]
    stats = variables["batch_stats"]["flow"][f"layers_{2 * b + 1}"]
    earlier, z = [x], x
    for i in range(block.units):
      if i > 0:
        eta, z = r[f"noise/block{b}/unit{i}_eta"], r[f"block{b}/unit{i - 1}/z"]
        y, ldj = CrossUnitCoupling(gr, NoiseNet).apply(
            {"params": params[f"cross_unit{i}"], "draws": {"eta": eta}}, z,
            context=jnp.concatenate(earlier, -1))
        out[f"block{b}/cross{i}/eta_hat"] = y[..., -gr:]
        out[f"block{b}/cross{i}/delta"] = ldj
        earlier.append(z)
        z = jnp.concatenate([z, r[f"block{b}/cross{i}/eta_hat"]], -1)
      unit = fb.Repeat(denseflow.GlowLikeModule(block.coupling_net), block.modules)
      out[f"block{b}/unit{i}/z"], out[f"block{b}/unit{i}/ldj"] = unit.apply(
          {"params": params[f"unit{i}"], "batch_stats": stats[f"unit{i}"]}, z)
    if b < 2:
      last = r[f"block{b}/unit{block.units - 1}/z"]
      out[f"transition{b}/z"], out[f"transition{b}/ldj"] = (
          denseflow.squeeze_and_drop().apply({}, last))
      x = r[f"transition{b}/z"]
  out["prior/log_prob"] = bound.prior.log_prob(r["block2/unit0/z"])
  return out


def _jit(fn):
  """fn compiled once (per input shapes and dtypes), without backend optimisations."""
  compiled = {}

  def call(*args):
    key = str(jax.tree.map(lambda a: (np.shape(a), np.result_type(a)), args))
    if key not in compiled:
      compiled[key] = jax.jit(fn).lower(*args).compile(compiler_options=FAST_COMPILE)
    return compiled[key](*args)
  return call


@pytest.fixture(scope="module")
def components(model):
  return _jit(lambda v, d, r: _components(model, {**v, "draws": d}, r))


@pytest.fixture(scope="module")
def log_prob(model):
  return _jit(lambda v, d, images: model.apply({**v, "draws": d}, images, method="log_prob"))


def _expected(ref, out, name):
  """The reference's `name` of run `out` (NHWC); the float64 dequantization log-det with
  flowzoo's exact ln 256 (the float32 constant costs 4.68e-5 nats, 2.6e-9 relative)."""
  expected = nhwc(ref[out + name])
  if out == "out64/" and name == "dequant/ldj":
    expected = expected - LN256_ROUNDING
  return expected


def test_the_fixture_model_has_the_release_parameter_count(ref, variables):
  assert models.count_params(variables) == int(ref["meta/n_params"]) == 387_910
  assert (models.count_params({"params": variables["params"]["dequantizer"]})
          == int(ref["meta/n_params_dequant"]) == 104_584)


def test_draws_layout_is_the_fixture_noise(ref, model, variables):
  _, state = jax.eval_shape(lambda v, x: model.apply(
      v, x, rngs=models.rngs(jax.random.PRNGKey(0)), method="log_prob", mutable=["draws"]),
      variables, nhwc(ref["images"]))
  assert (jax.tree.map(lambda a: a.shape, state["draws"])
          == jax.tree.map(np.shape, _draws(ref, np.float32)))


# ------------------------------------------------------------------ float32

@pytest.fixture(scope="module")
def out32(ref, variables, components):
  r = _reference(ref, "out32/", np.float32)
  return {k: np.asarray(v) for k, v in components(variables, _draws(ref, np.float32), r).items()}


@pytest.mark.parametrize("name", COMPONENTS)
def test_float32_component(ref, out32, name):
  assert out32[name].dtype == np.float32
  assert _rel(out32[name], _expected(ref, "out32/", name)) < TOL32


def test_float32_log_prob_with_the_fixture_noise(ref, variables, log_prob):
  lp = np.asarray(log_prob(variables, _draws(ref, np.float32), nhwc(ref["images"])))
  assert lp.dtype == np.float32
  assert np.max(np.abs(lp - ref["out32/log_prob"])) < TOTAL32
  assert np.max(np.abs(lp - ref["out64/log_prob_sum_exact_ln256"])) < TOTAL32


def test_train_pass_moves_batchnorm_statistics_as_torch(ref, arrays, model, variables):
  """One train-mode log_prob (batch statistics, running averages with momentum 0.1) moves
  the running statistics to the fixture's train32/bn_after: torch's running variance
  follows the unbiased batch variance, and so does flowzoo's by default."""
  lp, state = jax.jit(lambda v, d, x: model.apply(
      {**v, "draws": d}, x, train=True, method="log_prob", mutable=["batch_stats"]),
      compiler_options=FAST_COMPILE)(variables, _draws(ref, np.float32), nhwc(ref["images"]))
  assert np.max(np.abs(np.asarray(lp) - ref["train32/log_prob"])) < TOTAL32
  after = {k[len("train32/bn_after/"):]: ref[k] for k in ref if k.startswith("train32/bn_after/")}
  assert len(after) == 2 * 12  # mean and var of every coupling net's BatchNorm
  tensors = convert.Tensors({**arrays, **after})
  expected = convert_denseflow.to_variables(tensors, _config().model, (32, 32, 3), None)
  got = jax.tree_util.tree_leaves_with_path(state["batch_stats"])
  want = dict(jax.tree_util.tree_leaves_with_path(expected["batch_stats"]))
  before = dict(jax.tree_util.tree_leaves_with_path(variables["batch_stats"]))
  for path, value in got:
    assert _rel(value, want[path]) < STATS32, jax.tree_util.keystr(path)
    if jax.tree_util.keystr(path).endswith("['var']"):
      # flax's biased running variance would take (n - 1) / n of torch's batch variance,
      # n = batch * H * W values per channel: it misses by 1.5e-4 (16 x 16) to 5e-3 (4 x 4).
      h = {"layers_1": 16, "layers_3": 8, "layers_5": 4}[path[1].key]
      n = 2 * h * h
      batch_var = (want[path] - 0.9 * before[path]) / 0.1
      biased = 0.9 * before[path] + 0.1 * batch_var * (n - 1) / n
      assert _rel(biased, want[path]) > 100 * STATS32


# ------------------------------------------------------------------ errors

def _to_variables(arrays, config=None):
  tensors = convert.Tensors(arrays, "the fixture")
  config = config or _config()
  variables = convert_denseflow.to_variables(tensors, config.model, (32, 32, 3), None)
  tensors.check_all_taken()
  return variables


CONV = ("transforms.3.blocks.1.transforms.0.transforms.2.coupling_net.0.dn.transform."
        "1.dense.1.nn.2.weight")


def test_missing_extra_and_misshapen_tensors_are_named(arrays):
  missing = dict(arrays)
  del missing[CONV]
  with pytest.raises(ValueError, match=re.escape(f"has no tensor '{CONV}'")):
    _to_variables(missing)
  with pytest.raises(ValueError, match=r"'transforms\.3\.blocks\.0\.extra'"):
    _to_variables({**arrays, "transforms.3.blocks.0.extra": np.zeros(3, np.float32)})
  misshapen = {**arrays, CONV: arrays[CONV][:, :-1]}
  with pytest.raises(ValueError, match=re.escape(f"tensor '{CONV}' has shape")):
    _to_variables(misshapen)


@pytest.mark.parametrize("name, value", [
    ("transforms.3.blocks.2.transforms.1.transforms.0.initialized", [0.0]),
    ("transforms.0.ldj_per_dim", -np.log(128.0)),
    ("transforms.1._shift", 0.0),
    ("transforms.1._scale", 2.0),
    ("transforms.0.encoder.transforms.10.temperature", [2.0]),
    ("transforms.6.dist.buffer", [1.0]),
])
def test_a_wrong_constant_buffer_is_named(arrays, name, value):
  changed = {**arrays, name: np.asarray(value, np.float32)}
  with pytest.raises(ValueError, match=re.escape(f"buffer '{name}'")):
    _to_variables(changed)


def test_a_config_the_release_does_not_build_is_refused(arrays):
  config = _config()
  config.model.coupling_net = "glow"
  with pytest.raises(ValueError, match="config.model.coupling_net='glow'"):
    _to_variables(arrays, config)


# ------------------------------------------------------------------ float64

@pytest.fixture(scope="module")
def float64(x64, ref, variables, components):
  """The converted variables in float64, and a function of them: every component."""
  v64 = cast(variables, np.float64)
  d64, r64 = _draws(ref, np.float64), _reference(ref, "out64/", np.float64)
  run = lambda v: {k: np.asarray(a) for k, a in components(v, d64, r64).items()}
  return v64, run, run(v64)


@pytest.mark.parametrize("name", COMPONENTS)
def test_float64_component(ref, float64, name):
  out = float64[2]
  assert out[name].dtype == np.float64
  assert _rel(out[name], _expected(ref, "out64/", name)) < TOL64


def test_float64_log_prob_with_the_fixture_noise(ref, float64, log_prob):
  lp = np.asarray(log_prob(float64[0], _draws(ref, np.float64), nhwc(ref["images"])))
  assert lp.dtype == np.float64
  assert _rel(lp, ref["out64/log_prob_sum_exact_ln256"]) < TOL64


def _interleaved_read_as_halves(a):
  """What a converter that took the (s, t) channels as two halves would store."""
  k = a.shape[-1] // 2
  return a[..., np.stack([np.arange(k), k + np.arange(k)], 1).ravel()]


def _swap_halves(a):
  k = a.shape[-1] // 2
  return np.concatenate([a[..., k:], a[..., :k]], -1)


UNIT = "params/flow/layers_1/unit0/steps/layer/"
NET = UNIT + "ScaleShiftCoupling_0/conditioner/"
CROSS = "params/flow/layers_1/cross_unit1/conditioner/"


@pytest.mark.parametrize("paths, wrong, component", [
    ([NET + "Conv_2/kernel", NET + "Conv_2/bias"], _interleaved_read_as_halves,
     "block0/unit0/z"),
    ([UNIT + "Conv1x1_0/kernel"], lambda a: np.swapaxes(a, -1, -2), "block0/unit0/z"),
    ([NET + "DenseBlock_0/Conv_0/kernel"], lambda a: np.swapaxes(a, -1, -2),
     "block0/unit0/z"),
    ([CROSS + "Conv_1/kernel", CROSS + "Conv_1/bias"], _swap_halves, "block0/cross1/eta_hat"),
    ([CROSS + "Conv_0/kernel"], lambda a: np.swapaxes(a, 0, 1), "block0/cross1/eta_hat"),
    (["params/flow/layers_1/unit0/steps/layer/ActNorm_0/bias"], np.negative,
     "block0/unit0/z"),
], ids=["coupling_st_as_halves", "conv1x1_transposed", "square_1x1_conv_transposed",
        "cross_unit_mu_raw_swapped", "3x3_kernel_hw_swapped", "actnorm_shift_sign"])
def test_a_wrong_load_misses_the_reference_by_far(ref, float64, paths, wrong, component):
  v64, run, _ = float64
  changed = jax.tree.map(lambda a: a, v64)
  for path in paths:
    *parents, leaf = path.split("/")
    node = changed
    for key in parents:
      node = node[key]
    node[leaf] = wrong(node[leaf])
  assert _rel(run(changed)[component], _expected(ref, "out64/", component)) > WRONG
