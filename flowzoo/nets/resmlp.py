"""The residual MLP conditioner of MixerFlow's couplings (arXiv 2310.16777, section 4).

Dense(hidden) -> one residual block [BatchNorm, GELU, Dense, BatchNorm, GELU, Dense]
-> Dense(out). The last layer of the residual block starts at zero, as MixerFlow's
identity initialisation asks, and so does the output layer, which makes the coupling
the identity at initialisation. Batch norm keeps running statistics in the
`batch_stats` collection: training updates them, evaluation and sampling read them,
so a coupling is exactly invertible in evaluation mode.
"""
import flax.linen as nn


class ResMLP(nn.Module):
  out_features: int
  hidden: int = 128
  # Flax's 0.99 would leave the running statistics far behind in short runs.
  bn_momentum: float = 0.9

  @nn.compact
  def __call__(self, x, train: bool = False):
    norm = lambda: nn.BatchNorm(use_running_average=not train, momentum=self.bn_momentum)
    h = nn.Dense(self.hidden)(x)
    r = nn.Dense(self.hidden)(nn.gelu(norm()(h)))
    r = nn.Dense(self.hidden, kernel_init=nn.initializers.zeros)(nn.gelu(norm()(r)))
    return nn.Dense(self.out_features, kernel_init=nn.initializers.zeros)(h + r)
