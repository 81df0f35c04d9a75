"""Invertible backprop through `Repeat` (flowzoo/bijectors/invertible.py): the same
value, gradients and batch statistics as plain autodiff, with no stored activations."""
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flowzoo import bijectors as fb
from flowzoo.bijectors.base import draw
from flowzoo.nets import ResMLP

SHAPE = (4, 3, 6)  # [B, N, d]


def _stack(backprop):
  """ActNorm, a coupling whose conditioner normalises with batch statistics, and an LU
  linear with frozen 'consts', three times."""
  layer = fb.Chain([
      fb.ActNorm(),
      fb.AffineCoupling(functools.partial(ResMLP, hidden=8), scale="exp_clamp"),
      fb.LULinear(rotation_init=True)])
  return fb.Repeat(layer, 3, backprop=backprop)


def _variables(dtype):
  x = jax.random.normal(jax.random.key(0), SHAPE, dtype)
  variables = _stack("store").init(jax.random.key(1), x)
  # Away from the identity the conditioners start at, so that every gradient is nonzero.
  leaves, tree = jax.tree.flatten(variables["params"])
  keys = jax.random.split(jax.random.key(2), len(leaves))
  params = tree.unflatten([(p + 0.1 * jax.random.normal(k, p.shape)).astype(dtype)
                           for p, k in zip(leaves, keys)])
  cast = lambda t: jax.tree.map(lambda a: a.astype(dtype), t)
  return {**cast(variables), "params": params}, x


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _value_and_grads(backprop, inverse, train, variables, x):
  """A scalar of the stack's output and log-det, its gradients w.r.t. the params and x,
  and the new batch statistics."""
  def loss(params, x):
    (y, ldj), state = _stack(backprop).apply(
        {**variables, "params": params}, x, inverse=inverse, train=train,
        mutable=["batch_stats"])
    return jnp.sum(jnp.sin(y)) + 0.5 * jnp.sum(y**2) - jnp.sum(ldj), state["batch_stats"]
  (value, stats), grads = jax.value_and_grad(loss, (0, 1), has_aux=True)(
      variables["params"], x)
  return value, grads, stats


def _relative(a, b):
  a, b = (np.concatenate([np.ravel(t) for t in jax.tree.leaves(u)]).astype(np.float64)
          for u in (a, b))
  return np.max(np.abs(a - b)) / np.max(np.abs(b))


@pytest.mark.parametrize("inverse,train", [(False, True), (True, False)])
def test_float64_equals_autodiff(inverse, train):
  with jax.enable_x64(True):
    variables, x = _variables(jnp.float64)
    value, grads, stats = _value_and_grads("invertible", inverse, train, variables, x)
    ref_value, ref_grads, ref_stats = _value_and_grads("store", inverse, train, variables, x)
    assert abs(value - ref_value) <= 1e-9 * abs(ref_value)
    assert _relative(grads, ref_grads) <= 1e-9
    assert _relative(stats, ref_stats) <= 1e-12
    if train:  # the statistics did move, and by the same amount
      assert _relative(stats, variables["batch_stats"]) > 1e-3

def test_float32_gradients_within_the_round_trip_error():
  """Each copy's vjp is taken at an input that the inverses recomputed, which differs
  from the stored one by the stack's round-trip error r: the gradients can be off by
  a multiple of r beyond what float32 autodiff is off by. The multiple is the
  gradient's sensitivity to its input, of order one for these unit-scale maps; 100
  leaves room for the layers' different conditioning, and a wrong gradient (a missed
  term, a layer skipped) is off by order one."""
  variables, x = _variables(jnp.float32)
  stack = _stack("store")
  y, _ = stack.apply(variables, x)
  x_back, _ = stack.apply(variables, y, inverse=True)
  r = _relative(x_back, x)
  _, grads, _ = _value_and_grads("invertible", False, False, variables, x)
  _, store_grads, _ = _value_and_grads("store", False, False, variables, x)
  with jax.enable_x64(True):
    to64 = lambda t: jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), t)
    _, exact, _ = _value_and_grads("store", False, False, to64(variables), to64(x))
  error, store_error = _relative(grads, exact), _relative(store_grads, exact)
  assert 0 < r < 1e-5
  assert error <= store_error + 10 * r, (error, store_error, r)


class _Noisy(fb.Bijector):
  @nn.compact
  def __call__(self, x, inverse=False, train=False, temperature=1.0):
    eps = draw(self, "eps", "noise", jax.random.normal, x.shape, x.dtype)
    return x + (-eps if inverse else eps), jnp.zeros(x.shape[:1], x.dtype)


def test_stochastic_layers_are_refused():
  x = jnp.ones((2, 3))
  rngs = {"params": jax.random.key(0), "noise": jax.random.key(1)}
  variables = fb.Repeat(_Noisy(), 2).init(rngs, x)
  with pytest.raises(ValueError, match="draws random numbers.*backprop='remat'"):
    fb.Repeat(_Noisy(), 2, backprop="invertible").apply(variables, x, rngs=rngs)


def test_bad_backprop_is_refused():
  with pytest.raises(ValueError, match="Repeat.backprop is 'reversible'"):
    fb.Repeat(fb.ActNorm(), 2, backprop="reversible").init(jax.random.key(0), jnp.ones((2, 3)))
