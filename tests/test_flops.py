"""flowzoo.flops: products counted by hand, scans counted once per iteration."""
import jax
import jax.numpy as jnp
import pytest

from flowzoo.flops import flops

X, W = jnp.ones((8, 16)), jnp.ones((3, 16, 16))
MATMUL = 2 * 8 * 16 * 16  # one (8x16) @ (16x16)


def layers(h, w):
  return jnp.tanh(h @ w)


def scanned(w, x):
  return jax.lax.scan(lambda h, w: (layers(h, w), None), x, w)[0].sum()


def unrolled(w, x):
  for i in range(w.shape[0]):
    x = layers(x, w[i])
  return x.sum()


# Products of the gradient: 3 forward, 3 for d/dw, and d/dh for every layer (a scan
# differentiates its body whole) or for every layer but the first (unrolled, x is a
# constant); remat recomputes the 3 forward products.
@pytest.mark.parametrize("fn,grad_products", [
    (scanned, 9), (unrolled, 8), (jax.jit(scanned), 9), (jax.checkpoint(scanned), 12)])
def test_a_scan_counts_its_body_once_per_iteration(fn, grad_products):
  assert flops(fn, W, X) == 3 * MATMUL
  assert flops(jax.grad(fn), W, X) == grad_products * MATMUL


def test_cond_counts_its_costliest_branch():
  fn = lambda p, x: jax.lax.cond(p, lambda x: x @ W[0] @ W[1], lambda x: x @ W[0], x)
  assert flops(fn, True, X) == 2 * MATMUL


def test_convolution_counts_kernel_window_times_input_features():
  conv = lambda k, x: jax.lax.conv_general_dilated(
      x, k, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
  assert flops(conv, jnp.ones((3, 3, 4, 5)), jnp.ones((2, 6, 6, 4))) == 2 * (2 * 6 * 6 * 5) * 3 * 3 * 4
