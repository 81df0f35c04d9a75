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


@pytest.fixture(scope="module")
def bpd(setup):
  """Per-image bpd of the batch in float32 and in mixed precision, same noise."""
  model, fast, _, state, images = setup
  rngs = models.rngs(jax.random.PRNGKey(2))
  out = {}
  for name, m in (("float32", model), ("bfloat16", fast)):
    log_p = jax.jit(lambda v, m=m: m.apply(v, images, rngs=rngs, method="log_prob"))(
        state.variables)
    assert log_p.dtype == jnp.float32  # log-dets and the bound stay float32
    out[name] = np.asarray(bits_per_dim(log_p, (32, 32, 3)))
  return out


def test_bfloat16_matmuls_and_a_float32_bound_close_to_the_float32_one(setup, bpd):
  model, fast, _, state, images = setup
  log_p = lambda m: lambda v: m.apply(v, images, rngs=models.rngs(jax.random.PRNGKey(2)),
                                      method="log_prob")
  dots32, dots16 = _dots(log_p(model), state.variables), _dots(log_p(fast), state.variables)
  assert dots32 and all(d == ("float32", "float32") for d in dots32)
  assert dots16 and all(d == ("bfloat16", "bfloat16") for d in dots16)
  # bfloat16 keeps 8 bits: the bound moves, by well under a percent.
  change = np.max(np.abs(bpd["float32"] - bpd["bfloat16"]))
  assert 0 < change < 1e-2 * np.min(bpd["float32"])


def test_a_mixed_precision_step_keeps_float32_parameters(setup, bpd):
  _, fast, tx, state, images = setup
  step = train.compile_train_step(fast, tx, (32, 32, 3), train.make_mesh(jax.devices()[:1]))
  new, metrics = step(jax.tree.map(jnp.copy, state), images)
  assert all(x.dtype == jnp.float32 for x in jax.tree.leaves(new.params))
  assert not bool(metrics["skipped"])
  assert any(np.any(np.asarray(a) != np.asarray(b)) for a, b in zip(
      jax.tree.leaves(new.params), jax.tree.leaves(state.params)))
  # The step's loss is the batch's mixed-precision bpd (its own dequantization noise).
  assert abs(float(metrics["train_bpd"]) - float(np.mean(bpd["float32"]))) < 0.05


def test_backbones_without_a_compute_dtype_refuse_bfloat16():
  config = load_config(str(commands.REPO / "configs/jet_quickstart.py"))
  config.train.compute_dtype = "bfloat16"
  with pytest.raises(ValueError, match=r"config.train.compute_dtype='bfloat16': the Jet"):
    validate(config)
  config.train.compute_dtype = "float16"
  with pytest.raises(ValueError, match=r"choose one of \('float32', 'bfloat16'\)"):
    validate(config)
