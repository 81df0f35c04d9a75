"""The residual MLP conditioner of MixerFlow's couplings (arXiv 2310.16777, section 4).

Dense(hidden) -> one residual block [BatchNorm, GELU, Dense, BatchNorm, GELU, Dense]
-> Dense(out). The last layer of the residual block starts at zero, as MixerFlow's
identity initialisation asks, and so does the output layer, which makes the coupling
the identity at initialisation. Batch norm keeps running statistics in the
`batch_stats` collection: training updates them, evaluation and sampling read them,
so a coupling is exactly invertible in evaluation mode.

With `made` the kernels carry MADE's masks (flowzoo/nets/made.py): output j then
depends only on the inputs before feature j mod d, and the same network, with the same
parameters, conditions MixerFlow's masked autoregressive flow layer (Table 8). Batch
norm and the residual connection act per hidden unit, so they keep the ordering.
"""
import flax.linen as nn

from flowzoo.nets import made as made_lib


class ResMLP(nn.Module):
  out_features: int
  hidden: int = 128
  # Flax's 0.99 would leave the running statistics far behind in short runs.
  bn_momentum: float = 0.9
  made: bool = False

  @nn.compact
  def __call__(self, x, train: bool = False):
    masks = (made_lib.residual_masks(x.shape[-1], self.hidden, self.out_features)
             if self.made else (None,) * 4)
    dense = lambda m, features, **kw: nn.Dense(
        features, dot_general=None if m is None else made_lib.masked(m), **kw)
    norm = lambda: nn.BatchNorm(use_running_average=not train, momentum=self.bn_momentum)
    h = dense(masks[0], self.hidden)(x)
    r = dense(masks[1], self.hidden)(nn.gelu(norm()(h)))
    r = dense(masks[2], self.hidden, kernel_init=nn.initializers.zeros)(nn.gelu(norm()(r)))
    return dense(masks[3], self.out_features, kernel_init=nn.initializers.zeros)(h + r)
