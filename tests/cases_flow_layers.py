"""Property-suite cases of MixerFlow's flow layers (arXiv 2310.16777, Table 8) and of the
MAF baseline: masked autoregressive layers, spline and KAN couplings, alone and inside
a tiny MixerFlow each.

The MAF and KAN layers are the identity at initialisation exactly (a zero network
output is the identity affine map); the spline coupling is so only up to rounding,
which tests/test_flow_layers.py checks with a tolerance.
"""
import functools

from flowzoo import bijectors as fb
from flowzoo.models import maf, mixerflow
from flowzoo.nets import KAN, ResMLP
from tests.properties import Case

_mlp = functools.partial(ResMLP, hidden=8)
_made_mlp = functools.partial(_mlp, made=True)
_kan = functools.partial(KAN, hidden=6)


def _mixerflow(flow_layer):
  """One mixer layer with one flow layer per mixing flow, to keep compiling short: the
  layer cases check the alternation of halves and orders, and the 'mixerflow' case of
  tests/cases_core.py the shift layers, which do not depend on the flow layer."""
  return mixerflow.MixerFlow(shape=(6, 6, 2), patch_size=2, num_layers=1, hidden=8, shift=0,
                             flow_layers=1, flow_layer=flow_layer)


CASES = [
    *[Case(f"maf_resmlp{'_reverse' if reverse else ''}",
           functools.partial(fb.MaskedAutoregressive, _made_mlp, reverse=reverse),
           (3, 2, 7), identity_at_init=True) for reverse in (False, True)],
    Case("spline_coupling", lambda: fb.SplineCoupling(_mlp, flip=True, bins=5), (3, 2, 7)),
    # A bound inside the data's range: many inputs and outputs lie in the linear tails.
    Case("spline_coupling_tails", lambda: fb.SplineCoupling(_mlp, bins=3, bound=0.5),
         (3, 2, 7), perturb=0.3),
    Case("kan_coupling", lambda: fb.AffineCoupling(_kan, scale="exp_clamp"), (3, 2, 7),
         identity_at_init=True, perturb=0.2),
    *[Case(f"mixerflow_{layer}", functools.partial(_mixerflow, layer), (3, 6, 6, 2))
      for layer in ("spline", "kan", "maf")],
    # MADE (flowzoo/nets/made.py) of two layers, in both orders.
    Case("maf_backbone", lambda: maf.MAF(shape=(4, 4, 2), num_mades=2, hidden=(12, 9),
                                         scale="sigmoid2"), (3, 4, 4, 2)),
]
