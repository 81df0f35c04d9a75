"""Mixed precision in the one trainer: bfloat16 compute from float32 parameters, with
float32 log-dets, for the backbones that declare a compute_dtype (TarFlow)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flowzoo import models, optim, train
from flowzoo.config import load_config, validate
from flowzoo.models.base import bits_per_dim
from tests import commands

TINY = dict(width=32, num_flows=2, layers_per_flow=1, head_dim=16, patch_size=8)


def tiny(compute_dtype):
  config = load_config(str(commands.REPO / "configs/tarflow_quickstart.py"))
  config.model.update(TINY)
  config.train.update(batch_size=4, compute_dtype=compute_dtype, warmup_steps=0)
  return config


@pytest.fixture(scope="module")
def setup():
  config = tiny("bfloat16")
  model = models.build_model(config)
  images = jnp.asarray(np.random.RandomState(0).randint(0, 256, (4, 32, 32, 3)), jnp.uint8)
  tx = optim.make(config.train)
  state = train.create_state(model, tx, jax.random.PRNGKey(0), images)
  # Off the initial values, where the zero head kernel hides the transformer.
  leaves, tree = jax.tree.flatten(state.params)
  keys = jax.random.split(jax.random.PRNGKey(1), len(leaves))
  state = state.replace(params=jax.tree.unflatten(tree, [
      x + 0.05 * jax.random.normal(k, x.shape) for x, k in zip(leaves, keys)]))
  return model, models.with_compute_dtype(model, "bfloat16"), tx, state, images


def _dots(fn, *args):
  """The operand dtypes of every matrix product in fn's jaxpr."""
  jaxpr = jax.make_jaxpr(fn)(*args)
  found = []

  def walk(jaxpr):
    for eqn in jaxpr.eqns:
      if eqn.primitive.name == "dot_general":
        found.append(tuple(str(v.aval.dtype) for v in eqn.invars))
      for param in eqn.params.values():
        inner = getattr(param, "jaxpr", param)
        if hasattr(inner, "eqns"):
          walk(inner)
  walk(jaxpr.jaxpr)
  return found


def test_bfloat16_matmuls_float32_log_dets_and_parameters(setup):
  model, fast, _, state, images = setup
  rngs = models.rngs(jax.random.PRNGKey(2))
  log_p = lambda m, v: m.apply(v, images, rngs=rngs, method="log_prob")
  dots32, dots16 = _dots(lambda v: log_p(model, v), state.variables), _dots(
      lambda v: log_p(fast, v), state.variables)
  assert dots32 and all(d == ("float32", "float32") for d in dots32)
  assert dots16 and all(d == ("bfloat16", "bfloat16") for d in dots16)
  exact = jax.jit(lambda v: log_p(model, v))(state.variables)
  mixed = jax.jit(lambda v: log_p(fast, v))(state.variables)
  assert mixed.dtype == jnp.float32
  # bfloat16 keeps 8 bits: the bound moves, by well under a percent.
  bpd32, bpd16 = bits_per_dim(exact, (32, 32, 3)), bits_per_dim(mixed, (32, 32, 3))
  assert 0 < float(jnp.max(jnp.abs(bpd32 - bpd16))) < 1e-2 * float(jnp.min(bpd32))


def test_a_mixed_precision_step_keeps_float32_parameters_and_tracks_the_float32_one(setup):
  model, fast, tx, state, images = setup
  mesh = train.make_mesh(jax.devices()[:1])
  out = {}
  for name, m in (("f32", model), ("bf16", fast)):
    step = train.compile_train_step(m, tx, (32, 32, 3), mesh)
    out[name] = step(jax.tree.map(jnp.copy, state), images)
  new, metrics = out["bf16"]
  assert all(x.dtype == jnp.float32 for x in jax.tree.leaves(new.params))
  assert not bool(metrics["skipped"])
  assert abs(float(metrics["train_bpd"]) - float(out["f32"][1]["train_bpd"])) < 0.05
  # The two updates point the same way.
  delta = lambda s: np.concatenate([np.ravel(a - b) for a, b in zip(
      jax.tree.leaves(s.params), jax.tree.leaves(state.params))])
  d16, d32 = delta(new), delta(out["f32"][0])
  assert np.dot(d16, d32) / np.linalg.norm(d16) / np.linalg.norm(d32) > 0.9


def test_backbones_without_a_compute_dtype_refuse_bfloat16():
  config = load_config(str(commands.REPO / "configs/jet_quickstart.py"))
  config.train.compute_dtype = "bfloat16"
  with pytest.raises(ValueError, match=r"config.train.compute_dtype='bfloat16': the Jet"):
    validate(config)
  config.train.compute_dtype = "float16"
  with pytest.raises(ValueError, match=r"choose one of \('float32', 'bfloat16'\)"):
    validate(config)
