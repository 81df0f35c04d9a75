"""Property-suite cases of the shared bijector library."""
import functools


from flowzoo import bijectors as fb
from flowzoo.models import mixerflow
from flowzoo.nets import ResMLP
from tests.properties import Case

_mlp = functools.partial(ResMLP, hidden=8)

CASES = [
    Case("actnorm", fb.ActNorm, (3, 4, 5)),
    Case("actnorm_logscale_factor", lambda: fb.ActNorm(logscale_factor=3.0), (3, 4, 5)),
    Case("lu", fb.LULinear, (3, 2, 6), identity_at_init=True),
    Case("rlu", lambda: fb.LULinear(reverse=True), (3, 2, 6)),
    Case("lu_masked", lambda: fb.LULinear(masked=True), (3, 2, 6), identity_at_init=True),
    Case("conv1x1_lu", fb.LULinear, (2, 3, 3, 3), identity_at_init=True),
    Case("lu_rotation", lambda: fb.LULinear(rotation_init=True), (3, 2, 6)),
    Case("lu_masked_rotation", lambda: fb.LULinear(masked=True, rotation_init=True),
         (3, 2, 6)),
    *[Case(f"coupling_{scale}{'_flip' if flip else ''}",
           functools.partial(fb.AffineCoupling, _mlp, scale=scale, flip=flip),
           (3, 2, 7), identity_at_init=scale != "sigmoid_h2")
      for scale in fb.SCALES for flip in (False, True)],
    Case("coupling_interleaved", functools.partial(fb.AffineCoupling, _mlp, interleaved=True),
         (3, 6), identity_at_init=True),
    Case("patchify", lambda: fb.Patchify((2, 2), (4, 6)), (2, 4, 6, 2)),
    Case("squeeze", fb.Squeeze, (2, 4, 4, 2)),
    Case("transpose", fb.Transpose, (2, 3, 5)),
    Case("repeat", lambda: fb.Repeat(fb.LULinear(), 3), (2, 2, 5), identity_at_init=True),
    Case("repeat_remat", lambda: fb.Repeat(fb.ActNorm(), 2, backprop="remat"), (3, 2, 5)),
    Case("mixer_layer", lambda: mixerflow.MixerLayer(8, "lu", 2, "exp_clamp"), (3, 4, 6)),
    Case("shift_layer", lambda: mixerflow.ShiftLayer(
        mixerflow.MixerLayer(8, "rlu", 2, "exp_clamp"), (6, 6), 2, 1), (3, 9, 8)),
    Case("mixerflow", lambda: mixerflow.MixerFlow(
        shape=(6, 6, 2), patch_size=2, num_layers=3, hidden=8, shift=1, shift_every=2,
        flow_layers=2), (3, 6, 6, 2)),
]
