"""Training compute of a step, counted from its jaxpr.

XLA's cost analysis counts the body of a loop once, and every backbone of flowzoo
runs its layers under nn.scan, so for a 32-step Glow level it undercounts by 32x.
This count walks the jaxpr of the step instead: 2 x the multiply-adds of every
dot_general and conv_general_dilated (the products that dominate a flow's cost;
elementwise work is left out), with a scan's body counted `length` times and a
cond's costliest branch. A while loop of unknown trip count is counted once; flowzoo
steps have none outside small linear-algebra kernels.
"""
import math

import jax

METHOD = ("2 x multiply-adds of the dots and convolutions in the train step's jaxpr "
          "(scan bodies x their length), x steps")


def _jaxprs(value):
  """The sub-jaxprs held in an equation parameter."""
  if isinstance(value, jax.extend.core.ClosedJaxpr):
    return [value.jaxpr]
  if isinstance(value, jax.extend.core.Jaxpr):
    return [value]
  if isinstance(value, (tuple, list)):
    return [j for v in value for j in _jaxprs(v)]
  return []


def _product_flops(eqn):
  name = eqn.primitive.name
  if name not in ("dot_general", "conv_general_dilated"):
    return 0
  out = math.prod(eqn.outvars[0].aval.shape)
  if name == "dot_general":
    (contract, _), _ = eqn.params["dimension_numbers"]
    lhs = eqn.invars[0].aval.shape
    return 2 * out * math.prod(lhs[d] for d in contract)
  rhs = eqn.invars[1].aval.shape
  out_features = rhs[eqn.params["dimension_numbers"].rhs_spec[0]]
  return 2 * out * math.prod(rhs) // out_features


def jaxpr_flops(jaxpr):
  total = 0
  for eqn in jaxpr.eqns:
    total += _product_flops(eqn)
    if eqn.primitive.name == "cond":
      total += max(jaxpr_flops(b) for b in _jaxprs(eqn.params["branches"]))
      continue
    inner = sum(jaxpr_flops(j) for v in eqn.params.values() for j in _jaxprs(v))
    total += inner * (eqn.params["length"] if eqn.primitive.name == "scan" else 1)
  return total


def flops(fn, *args):
  """FLOPs of one call of fn(*args), from its jaxpr (nothing is compiled or run)."""
  return jaxpr_flops(jax.make_jaxpr(fn)(*args).jaxpr)
