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
from flowzoo.nets import KAN, MADE, ResMLP
from tests.properties import Case

_made_mlp = functools.partial(ResMLP, hidden=8, made=True)
_kan = functools.partial(KAN, hidden=6)


def _mixerflow(flow_layer):
  """A plain and a shift layer with one flow layer per mixing flow: the layer cases
  above check the alternation of halves and orders."""
  return mixerflow.MixerFlow(shape=(6, 6, 2), patch_size=2, num_layers=2, hidden=8, shift=1,
                             shift_every=2, flow_layers=1, flow_layer=flow_layer)


CASES = [
    *[Case(f"maf_resmlp{'_reverse' if reverse else ''}",
           functools.partial(fb.MaskedAutoregressive, _made_mlp, reverse=reverse),
           (3, 2, 7), identity_at_init=True) for reverse in (False, True)],
    Case("maf_made", lambda: fb.MaskedAutoregressive(
        functools.partial(MADE, hidden=(9, 5)), scale="sigmoid2"), (3, 2, 6),
         identity_at_init=True),
    *[Case(f"spline_coupling{'_flip' if flip else ''}",
           functools.partial(fb.SplineCoupling, _made_mlp, flip=flip, bins=5), (3, 2, 7))
      for flip in (False, True)],
    # A bound inside the data's range: many inputs and outputs lie in the linear tails.
    Case("spline_coupling_tails", lambda: fb.SplineCoupling(
        functools.partial(ResMLP, hidden=8), bins=3, bound=0.5), (3, 2, 7), perturb=0.3),
    Case("kan_coupling", lambda: fb.AffineCoupling(_kan, scale="exp_clamp"), (3, 2, 7),
         identity_at_init=True, perturb=0.2),
    *[Case(f"mixerflow_{layer}", functools.partial(_mixerflow, layer), (3, 6, 6, 2))
      for layer in ("spline", "kan", "maf")],
    Case("maf_backbone", lambda: maf.MAF(shape=(4, 4, 2), num_mades=3, hidden=(12,)),
         (3, 4, 4, 2)),
]
