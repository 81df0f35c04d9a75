"""Invertible backpropagation through a stack of bijections (RevNets, Gomez et al. 2017,
section 4; i-RevNets, Jacobsen et al. 2018).

A bijection's input is a function of its output, so the backward pass of a stack need
not store what each layer saw: it walks the stack backwards from the final output,
recomputes each layer's input with the layer's inverse, and takes that layer's
vector-Jacobian product there. Activation memory is then that of one layer whatever
the depth, for about one inverse per layer more arithmetic than rematerialisation.

`scan` is this backward pass for `Repeat` (flowzoo/bijectors/base.py) and for Jet's
couplings (flowzoo/models/jet.py) as a Flax lifted transform, so that it sees the
variables nn.scan stacked, wherever Flax put them: a jax.custom_vjp over a lax.scan of
the copies, whose residuals are the stack's output, its variables and its per-step
inputs. 'consts', 'batch_stats' and the per-step inputs (Jet's split matrices) are
constants to it, as to the trainer: they get no gradient. In training the copies' new
batch statistics are written back as by nn.scan; a coupling whose conditioner normalises with the batch statistics of its
conditioning half is still exactly invertible given the batch, since that half passes
through unchanged. Layers that draw random numbers are not bijections of their input:
they see no rngs and no given draws here, and are refused.

In floating point the recomputed inputs differ from the ones the forward pass saw by
the round-trip error of the stack, so the gradients differ from autodiff's by a
multiple of it (tests/test_invertible.py).
"""
import flax
from flax.core import lift
import flax.linen as nn
import jax
import numpy as np

BACKPROPS = ("store", "remat", "invertible")


def scan(step, length, inverse):
  """A module class of `length` copies of the module class `step`, whose
  __call__(x, inverse, xs) -> (y, ldj) is a bijection of x given its slice xs of the
  per-step inputs (None when there are none); its __call__(x, ldj, xs=None) runs the
  copies first to last, or last to first when `inverse`, adding their log-dets to ldj.
  xs is a pytree of arrays with a leading axis of `length`, as nn.scan's in_axes=0.

  The copies' variables are those nn.scan stacks for `step` with variable_axes 0
  (what `Repeat` inits), their new 'batch_stats' are written back when that
  collection is mutable, and 'params' get gradients; nothing else does. Raises
  ValueError if a copy draws random numbers.
  """
  return nn.transforms.lift_transform(_lifted, step, length, inverse)


def _lifted(fn, length, inverse):
  def inner(scope_fn, repack_fn, variable_groups, rng_groups, x, ldj, xs=None):
    def run_step(groups, x, xs, backwards):
      scope = scope_fn(groups, rng_groups)
      try:
        y_ldj = fn(scope, x, backwards, xs)
      except flax.errors.InvalidRngError as e:
        raise _stochastic(str(e)) from None
      (stats,) = repack_fn(scope)
      return y_ldj, stats

    # One copy each way as a pure function of its variables, traced while the scopes
    # are valid: the backward pass runs after Flax has closed them.
    first = jax.tree.map(lambda a: a[0], (variable_groups, xs))
    step_fns = [jax.closure_convert(lambda g, x, s, b=b: run_step(g, x, s, b), first[0], x,
                                    first[1])
                for b in (inverse, not inverse)]
    hoisted = tuple(h for _, h in step_fns)

    def forward(groups, hoisted, x, xs, backwards=inverse):
      i = int(backwards != inverse)
      return step_fns[i][0](groups, x, xs, *hoisted[i])

    def run(params, frozen, xs, hoisted, x, ldj):
      def body(carry, slices):
        p, f, s = slices
        (y, l), stats = forward((p, f), hoisted, carry[0], s)
        return (y, carry[1] + l), stats
      (y, ldj), stats = jax.lax.scan(body, (x, ldj), (params, frozen, xs), length=length,
                                     reverse=inverse)
      return y, ldj, stats

    def fwd(params, frozen, xs, hoisted, x, ldj):
      y, ldj, stats = run(params, frozen, xs, hoisted, x, ldj)
      # The stack's output, its variables and inputs are all the backward pass needs.
      return (y, ldj, stats), (params, frozen, xs, hoisted, y)

    def bwd(residuals, cotangents):
      params, frozen, xs, hoisted, y = residuals
      ct_y, ct_ldj, _ = cotangents  # the batch statistics have no gradient

      def body(carry, slices):
        y, ct_y = carry
        p, f, s = slices
        (x, _), _ = forward((p, f), hoisted, y, s, not inverse)
        _, vjp, _ = jax.vjp(lambda p, x: forward((p, f), hoisted, x, s), p, x,
                            has_aux=True)
        # The log-det is a sum over the copies: each sees the whole cotangent.
        ct_p, ct_x = vjp((ct_y, ct_ldj))
        return (x, ct_x), ct_p
      (_, ct_x), ct_params = jax.lax.scan(body, (y, ct_y), (params, frozen, xs),
                                          length=length, reverse=not inverse)
      zero = lambda t: jax.tree.map(_zero_cotangent, t)
      return ct_params, zero(frozen), zero(xs), zero(hoisted), ct_x, ct_ldj

    run_invertible = jax.custom_vjp(run)
    run_invertible.defvjp(fwd, bwd)
    params, frozen = variable_groups
    y, ldj, stats = run_invertible(params, frozen, xs, hoisted, x, ldj)
    return (y, ldj), (stats,)

  return lift.pack(inner, ("params", ("batch_stats", "consts")), ("batch_stats",), (),
                   name="invertible_scan")


def _zero_cotangent(a):
  dtype = a.dtype if np.issubdtype(a.dtype, np.inexact) else jax.dtypes.float0
  return np.zeros(a.shape, dtype)


def _stochastic(why):
  return ValueError(
      f"Repeat(backprop='invertible') recomputes each layer's input from its output, "
      f"which needs deterministic bijections, and this layer draws random numbers "
      f"({why}). Use backprop='remat' for stacks of stochastic layers.")
