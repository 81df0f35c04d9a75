"""Property-suite cases of Jet: both modes, both kinds, all six spatial patterns.

Couplings run in one scan, so a case that cycles through every kind and pattern
compiles once. The 2x4 grid of patches is not square on purpose.
"""
from flowzoo.models import jet
from tests.properties import Case


def _jet(mode, backprop="remat"):
  return jet.Jet(shape=(4, 8, 2), patch_size=2, num_couplings=12, vit_depth=1, width=8,
                 num_heads=2, kinds=("channels", "spatial"),
                 spatial_patterns=jet.SPATIAL_PATTERNS, mode=mode, backprop=backprop)


CASES = [
    Case("jet_pairing", lambda: _jet("pairing"), (3, 4, 8, 2), identity_at_init=True),
    Case("jet_masking", lambda: _jet("masking", backprop="store"), (3, 4, 8, 2),
         identity_at_init=True),
]
