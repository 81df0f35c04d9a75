"""The bijector contract, written once for every layer and backbone: each direction
inverts the other and the log-determinant is that of the Jacobian.

A `Case` names a bijector and a small input shape. tests/test_properties.py runs
every check over the cases that tests/cases_*.py files list: one file per area
(core layers, each backbone), so that adding a layer is adding a case.
"""
import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np


@dataclasses.dataclass(frozen=True)
class Case:
  name: str
  make: Callable[[], object]   # -> a module with forward / inverse methods
  shape: tuple                 # input shape, batch first; keep D small for the Jacobian
  identity_at_init: bool = False  # documented as the identity when initialised
  jacobian: bool = True        # compare ldj with the dense Jacobian
  perturb: float = 0.05        # std of the noise added to params so maps are not trivial

  def __str__(self):
    return self.name


def init(case, dtype=jnp.float64, seed=0):
  """Variables initialised on a normal batch (data-dependent layers see it)."""
  x = jax.random.normal(jax.random.key(seed), case.shape, dtype)
  model = case.make()
  rngs = {"params": jax.random.key(1), "sample": jax.random.key(2), "noise": jax.random.key(3)}
  variables = jax.jit(lambda x: model.init(rngs, x, method="forward"))(x)
  return model, variables, x


def perturbed(variables, std, seed=4):
  """Adds noise to the params so that zero-initialised maps are no longer trivial."""
  if "params" not in variables:
    return variables
  leaves, tree = jax.tree_util.tree_flatten(variables["params"])
  keys = jax.random.split(jax.random.key(seed), len(leaves))
  leaves = [l + std * jax.random.normal(k, l.shape, l.dtype) for l, k in zip(leaves, keys)]
  return {**variables, "params": jax.tree_util.tree_unflatten(tree, leaves)}


def directions(model):
  """forward and inverse, jitted: a case's checks share them, so each compiles once."""
  forward = jax.jit(lambda v, x: model.apply(v, x, method="forward"))
  inverse = jax.jit(lambda v, z: model.apply(v, z, method="inverse"))
  return forward, inverse


def to_dtype(tree, dtype):
  return jax.tree.map(lambda a: a.astype(dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a, tree)


def ravel(tree):
  """All leaves of a latent (an array, or a pytree such as Glow's) as one vector."""
  return jnp.concatenate([jnp.ravel(l) for l in jax.tree_util.tree_leaves(tree)])


def normal_like(key, tree):
  """Standard normal draws shaped like every leaf of `tree`."""
  leaves, treedef = jax.tree_util.tree_flatten(tree)
  keys = jax.random.split(key, len(leaves))
  return treedef.unflatten([jax.random.normal(k, l.shape, l.dtype) for k, l in zip(keys, leaves)])


def assert_close(actual, desired, **tolerances):
  jax.tree.map(lambda a, d: np.testing.assert_allclose(a, d, **tolerances), actual, desired)


def dense_log_det(model, variables, x):
  """log|det dz/dx| of each example from the dense Jacobian (jax.jacfwd)."""
  def one(xi):
    flat = lambda v: model.apply(variables, v.reshape((1, *x.shape[1:])), method="forward")[0]
    jac = jax.jacfwd(lambda v: ravel(flat(v)))(jnp.ravel(xi))
    return jnp.linalg.slogdet(jac)[1]
  return np.array([jax.jit(one)(xi) for xi in x])
