"""Property-suite cases of Glow's layers and of a tiny whole Glow (K=1, L=2 on 8x8x3)."""
import functools

from flowzoo import bijectors as fb
from flowzoo.models import glow
from flowzoo.nets import ZeroConv
from tests.properties import Case

_step = functools.partial(glow.StepOfFlow, width=8, edge_padding=True, net_actnorm=True)
_split = lambda **kw: fb.Split(lambda out, name: ZeroConv(out, name=name), **kw)

CASES = [
    Case("conv1x1_plain", fb.Conv1x1, (2, 3, 3, 4)),
    Case("glow_split_keep", lambda: _split(interleaved=True), (2, 3, 3, 4)),
    Case("glow_step_affine_plain", lambda: _step(coupling="affine", conv1x1="plain"),
         (2, 3, 3, 4)),
    Case("glow_step_additive_lu", lambda: _step(coupling="additive", conv1x1="lu"),
         (2, 3, 3, 4)),
    # The PyTorch port's step: its coupling network's ZeroConv pads with ones.
    Case("glow_step_port", lambda: glow.StepOfFlow(
        8, "affine", "lu", edge_padding=False, net_actnorm=False, zero_conv_pad=1.0),
         (2, 3, 3, 4)),
    Case("glow", lambda: glow.Glow(shape=(8, 8, 3), levels=2, steps_per_level=1, width=8),
         (2, 8, 8, 3)),
]
