"""flowzoo.nets.Conv against flax's nn.Conv: the same variables give the same outputs.
On CPU, where the tests run, Conv computes conv_as_matmul; elsewhere lax's conv."""
import flax.linen as nn
import jax
import numpy as np
import pytest

from flowzoo.nets.conv import Conv


# Both branches of conv_as_matmul (fewer input channels than output, and more),
# odd and even kernels, and both paddings.
@pytest.mark.parametrize("cin,cout", [(3, 8), (8, 3)])
@pytest.mark.parametrize("kernel", [(1, 1), (3, 3), (2, 3)])
@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize("backend", ["cpu", "gpu"])
def test_conv_matches_flax(cin, cout, kernel, padding, backend, monkeypatch):
  monkeypatch.setattr(jax, "default_backend", lambda: backend)  # which path Conv takes
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 7, 6, cin))
  ours = Conv(cout, kernel, padding=padding, bias_init=nn.initializers.normal(1.0))
  variables = ours.init(jax.random.PRNGKey(1), x)
  theirs = nn.Conv(cout, kernel, padding=padding)
  assert (jax.tree.map(np.shape, variables)
          == jax.tree.map(np.shape, theirs.init(jax.random.PRNGKey(1), x)))
  np.testing.assert_allclose(ours.apply(variables, x), theirs.apply(variables, x),
                             rtol=1e-5, atol=1e-5)
