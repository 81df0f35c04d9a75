"""The convolutional networks of Glow (Kingma & Dhariwal 2018, section 3.3 and the
openai/glow release).

GlowNet, the coupling network: 3x3 conv to `width` -> ReLU -> 1x1 conv to `width`
-> ReLU -> ZeroConv. Two details of the release are switches, on by default:
  actnorm       the two hidden convs have no bias and are followed by ActNorm
                (data-dependent init, log-scale stored divided by 3 as released),
                instead of a bias;
  edge_padding  a 3x3 conv sees one more input channel that is 1 on the zero
                padding and 0 inside the image, so it can tell the border apart.
ZeroConv is the release's conv2d_zeros: a 3x3 conv with zero-initialised weights
and bias whose output is scaled by exp(3 * logs), logs zero-initialised; the last
layer of the coupling network and Glow's priors are ZeroConvs, so couplings and
factored-out priors start from a constant output. `pad_value` is what it pads its
input with: 0 as the release, or 1 as the PyTorch port's ZeroConv2d
(rosinality/glow-pytorch model.py:149, F.pad(input, [1, 1, 1, 1], value=1)), whose
border outputs then add the kernel's padded taps summed over input channels. The
hidden 3x3 conv pads with zeros in both.
"""
import flax.linen as nn
import jax.numpy as jnp

from flowzoo.bijectors import ActNorm
from flowzoo.nets.conv import Conv

# Hidden conv weights ~ N(0, 0.05^2), the release's default_initializer.
_HIDDEN_INIT = nn.initializers.normal(0.05)


def conv3x3(x, features, edge_padding, pad_value=0.0, **kw):
  """A 3x3 'SAME' conv of x padded with `pad_value`, with the release's edge-padding
  channel when asked."""
  if not edge_padding and pad_value == 0:
    return Conv(features, (3, 3), padding="SAME", **kw)(x)
  pad = ((0, 0), (1, 1), (1, 1), (0, 0))
  x_padded = jnp.pad(x, pad, constant_values=pad_value)
  if edge_padding:
    edge = jnp.pad(jnp.zeros((*x.shape[:-1], 1), x.dtype), pad, constant_values=1)
    x_padded = jnp.concatenate([x_padded, edge], axis=-1)
  return Conv(features, (3, 3), padding="VALID", **kw)(x_padded)


class ZeroConv(nn.Module):
  features: int
  edge_padding: bool = True
  logscale_factor: float = 3.0
  pad_value: float = 0.0  # 0 as released, 1 as the PyTorch port

  @nn.compact
  def __call__(self, x, train: bool = False):
    h = conv3x3(x, self.features, self.edge_padding, self.pad_value,
                kernel_init=nn.initializers.zeros)
    logs = self.param("logs", nn.initializers.zeros, (self.features,))
    return h * jnp.exp(self.logscale_factor * logs)


class GlowNet(nn.Module):
  out_features: int
  width: int = 512
  edge_padding: bool = True
  actnorm: bool = True
  zero_conv_pad: float = 0.0  # the pad value of the last layer, a ZeroConv

  @nn.compact
  def __call__(self, x, train: bool = False):
    kw = dict(use_bias=not self.actnorm, kernel_init=_HIDDEN_INIT)
    norm = (lambda h: ActNorm(logscale_factor=3.0)(h)[0]) if self.actnorm else (lambda h: h)
    h = nn.relu(norm(conv3x3(x, self.width, self.edge_padding, **kw)))
    h = nn.relu(norm(Conv(self.width, (1, 1), **kw)(h)))
    return ZeroConv(self.out_features, self.edge_padding, pad_value=self.zero_conv_pad)(h)
