"""Property-suite cases of TarFlow: one flow, and the whole model (patchify, three flows
in both token orders, the prior's layout), on a grid of patches that is not square.

Neither is the identity at initialisation: the head's bias keeps torch's default init
(transformer_flow.py:147-149), and only its kernel starts at zero.
"""
from flowzoo.models import tarflow
from tests.properties import Case

CASES = [
    Case("tarflow_flow", lambda: tarflow.AutoregressiveFlow(width=8, depth=2, head_dim=4),
         (3, 5, 6)),
    Case("tarflow", lambda: tarflow.TarFlow(
        shape=(4, 6, 2), patch_size=2, width=8, num_flows=3, layers_per_flow=1, head_dim=4,
        backprop="remat"), (3, 4, 6, 2)),
]
