"""A stride-1 convolution computed as one matrix product, with nn.Conv's variables.

Every conditioner of Glow and DenseFlow sits inside a scanned stack of layers
(fb.Repeat), and XLA:CPU computes the kernel gradient of a convolution inside a
while loop 50-150x slower than outside one (a 1x1 conv 512 -> 512 at 32x16x16:
0.16 s plain, 8.4 s in a scan; a 3x3 one: 0.58 s and 94 s), which made a Glow train
step take minutes. On CPU the conv is therefore written as shifted copies and a
matmul, so that its kernel gradient is a matmul too and runs at matmul speed. The
shifted copies go on the narrower side: kh*kw copies of the input when it has fewer
channels than the output (im2col), else one product to kh*kw*features channels whose
shifted slices are summed. Every product is of 2-D [pixels, channels] rows: on [B, H, W, C]
operands XLA contracts the kernel gradient over three axes and first copies both operands
into transposed [C, B*H*W] buffers (a 3x3 conv 192 -> 64 at 32x16x16 in a scan, value and
gradient: 7.2 s and 295 MiB of temporaries with the copies, 1.5 s and 99 MiB without;
the results are the same to the bit). Other backends keep lax's convolution (cuDNN on GPUs),
which has neither the slowdown nor the copies' memory.

The variables are nn.Conv's ('kernel' of shape (kh, kw, in, out) and 'bias'), and
'SAME' pads as nn.Conv does ((k-1)//2 before, k//2 after), so the two are
interchangeable (tests/test_nets.py checks that they agree).
"""
import flax.linen as nn
import jax
import jax.numpy as jnp


def _pads(kernel_size, padding):
  if padding == "VALID":
    return [(0, 0) for _ in kernel_size]
  if padding == "SAME":
    return [((k - 1) // 2, k // 2) for k in kernel_size]
  raise ValueError(f"padding={padding!r}: Conv takes 'SAME' or 'VALID'.")


def _rows_matmul(x, w):
  """x @ w over the last axis of x, as one product of 2-D rows (see the module)."""
  return (x.reshape(-1, x.shape[-1]) @ w).reshape(*x.shape[:-1], w.shape[-1])


def conv_as_matmul(x, kernel, padding="SAME"):
  """The stride-1 convolution of NHWC x with an HWIO kernel."""
  kh, kw, cin, cout = kernel.shape
  if kh == kw == 1:
    return _rows_matmul(x, kernel[0, 0])
  (top, bottom), (left, right) = _pads((kh, kw), padding)
  out_h = x.shape[1] + top + bottom - kh + 1
  out_w = x.shape[2] + left + right - kw + 1
  pad = lambda t: jnp.pad(t, ((0, 0), (top, bottom), (left, right)) + ((0, 0),) * (t.ndim - 3))
  offsets = [(i, j) for i in range(kh) for j in range(kw)]
  if cin <= cout:
    x = pad(x)
    patches = jnp.concatenate([x[:, i:i + out_h, j:j + out_w] for i, j in offsets], axis=-1)
    return _rows_matmul(patches, kernel.reshape(kh * kw * cin, cout))
  y = _rows_matmul(x, jnp.transpose(kernel, (2, 0, 1, 3)).reshape(cin, kh * kw * cout))
  y = pad(y.reshape(*x.shape[:3], kh, kw, cout))
  return sum(y[:, i:i + out_h, j:j + out_w, i, j] for i, j in offsets)


class Conv(nn.Module):
  features: int
  kernel_size: tuple = (1, 1)
  padding: str = "SAME"
  use_bias: bool = True
  kernel_init: callable = nn.initializers.lecun_normal()
  bias_init: callable = nn.initializers.zeros

  @nn.compact
  def __call__(self, x):
    kernel = self.param("kernel", self.kernel_init,
                        (*self.kernel_size, x.shape[-1], self.features), x.dtype)
    if jax.default_backend() == "cpu":
      y = conv_as_matmul(x, kernel, self.padding)
    else:
      y = jax.lax.conv_general_dilated(x, kernel, (1, 1), _pads(self.kernel_size, self.padding),
                                       dimension_numbers=("NHWC", "HWIO", "NHWC"))
    if self.use_bias:
      y = y + self.param("bias", self.bias_init, (self.features,), x.dtype)
    return y
