"""config.model.backprop on every backbone whose layers are bijections: the training
loss, its gradient and the new batch statistics with backprop='invertible' are those of
plain autodiff ('store'), exactly in float64 and within float32's own error in float32.

One tiny model per backbone at the property suite's sizes (tests/cases_*.py), each
stack at least two deep, so that the inverses recompute a copy's input from the next.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flowzoo import models
from flowzoo.models import denseflow, glow, jet, mixerflow
from tests.properties import to_dtype

BACKBONES = {
    # A shift period: two layers (a Repeat inside the Repeat of periods), a shift layer.
    "mixerflow": lambda: mixerflow.MixerFlow(
        shape=(6, 6, 2), patch_size=2, num_layers=3, hidden=8, shift=1, shift_every=3,
        flow_layers=1),
    "jet": lambda: jet.Jet(shape=(4, 8, 2), patch_size=2, num_couplings=4, vit_depth=1,
                           width=8, num_heads=2, kinds=("channels", "spatial"),
                           spatial_patterns=jet.SPATIAL_PATTERNS),
    "glow": lambda: glow.Glow(shape=(4, 4, 3), levels=1, steps_per_level=2, width=8),
    # Its coupling nets normalise with batch statistics.
    "denseflow": lambda: denseflow.DenseFlow(
        shape=(4, 4, 2), units=(1,), modules=(2,), growth_rate=2, coupling_width=4,
        dense_layers=1, dense_growth=3, dequantization="uniform"),
}
BATCH = 3
# XLA's compile dominates these tests; its optimisations change no value they check.
FAST_COMPILE = {"xla_backend_optimization_level": 0}


def _loss_and_grads(model, variables, images, draws):
  """The trainer's loss (mean -log p in train mode) with the dequantization noise given,
  its gradient w.r.t. all params, and the new batch statistics."""
  def loss(params):
    log_px, state = model.apply({**variables, "params": params, "draws": draws}, images,
                                train=True, method="log_prob", mutable=["batch_stats"])
    return -jnp.mean(log_px), state.get("batch_stats", {})
  (value, stats), grads = jax.value_and_grad(loss, has_aux=True)(variables["params"])
  return value, grads, stats


def _jit(fn, *args):
  return jax.jit(fn).lower(*args).compile(compiler_options=FAST_COMPILE)(*args)


def _run(make, backprop, variables, images, draws):
  model = make().clone(backprop=backprop)
  return _jit(functools.partial(_loss_and_grads, model), variables, images, draws)


def _perturbed(variables, std=0.05):
  """In float64, with noise on the params (numpy's, drawn on the host: jax.random would
  compile a kernel per leaf): away from the identity some layers start at, so that every
  gradient is nonzero."""
  rng = np.random.default_rng(0)
  as64 = lambda t: jax.tree.map(
      lambda a: np.asarray(a, np.float64 if np.issubdtype(a.dtype, np.floating) else a.dtype), t)
  params = jax.tree.map(lambda a: a + std * rng.standard_normal(a.shape), as64(variables["params"]))
  return {**as64(variables), "params": params}


def _relative(a, b):
  a, b = (np.concatenate([np.ravel(t) for t in jax.tree.leaves(u)]).astype(np.float64)
          for u in (a, b))
  return np.max(np.abs(a - b)) / np.max(np.abs(b))


@pytest.mark.parametrize("name", BACKBONES)
def test_invertible_backprop_equals_autodiff(name):
  make = BACKBONES[name]
  with jax.enable_x64(True):
    model = make()
    shape = (BATCH, *model.shape)
    images = jax.random.randint(jax.random.key(0), shape, 0, 256).astype(jnp.uint8)
    variables = _perturbed(_jit(functools.partial(models.init_model, model,
                                                  jax.random.key(1)), images))
    # The dequantization noise, uniform draws laid out as the model draws them.
    _, layout = jax.eval_shape(functools.partial(
        model.apply, train=True, method="log_prob", rngs=models.rngs(jax.random.key(2)),
        mutable=["draws", "batch_stats"]), variables, images)
    draws = _jit(lambda: jax.tree.map(
        lambda s: jax.random.uniform(jax.random.key(3), s.shape, s.dtype), layout["draws"]))
    value, grads, stats = _run(make, "invertible", variables, images, draws)
    exact = _run(make, "store", variables, images, draws)
    assert abs(value - exact[0]) <= 1e-9 * abs(exact[0])
    assert _relative(grads, exact[1]) <= 1e-9
    if stats:
      assert _relative(stats, exact[2]) <= 1e-12
  # In float32 each copy's gradient is taken at an input the inverses recomputed, off
  # by the round-trip error: measured against float64 autodiff beside float32 autodiff.
  as32 = lambda t: to_dtype(t, jnp.float32)
  errors = {backprop: _relative(_run(make, backprop, as32(variables), images, as32(draws))[1],
                                exact[1])
            for backprop in ("store", "invertible")}
  print(f"{name}: float32 gradient error vs float64, store {errors['store']:.2e}, "
        f"invertible {errors['invertible']:.2e}")
  assert errors["invertible"] <= 10 * errors["store"], errors
