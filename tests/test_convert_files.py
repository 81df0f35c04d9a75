"""Reading released checkpoints, and the checks that no tensor is lost or invented."""
import importlib.util
import sys
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from safetensors.numpy import save_file

from flowzoo import bijectors as fb
from flowzoo import convert

ARRAYS = {"a/kernel": np.arange(6, dtype=np.float32).reshape(2, 3),
          "a/bias": np.ones(3, np.float32)}


@pytest.mark.parametrize("ext", [".npz", ".safetensors"])
def test_read_returns_every_tensor_by_name_in_both_formats(tmp_path, ext):
  path = tmp_path / f"weights{ext}"
  if ext == ".npz":
    np.savez(path, **{f"params/{k}": v for k, v in ARRAYS.items()}, step=np.int64(3))
  else:
    save_file({f"params/{k}": v for k, v in ARRAYS.items()}, str(path))
  arrays = convert.read(path, prefix="params/")
  assert sorted(arrays) == sorted(ARRAYS)
  for k, v in ARRAYS.items():
    np.testing.assert_array_equal(arrays[k], v)


def test_read_names_the_problem(tmp_path):
  with pytest.raises(FileNotFoundError, match="no checkpoint file"):
    convert.read(tmp_path / "missing.npz")
  (tmp_path / "w.ckpt").write_bytes(b"x")
  with pytest.raises(ValueError, match=r"\.npz, \.safetensors, \.pt, \.pth"):
    convert.read(tmp_path / "w.ckpt")
  np.savez(tmp_path / "w.npz", **ARRAYS)
  with pytest.raises(ValueError, match="no tensor named params/"):
    convert.read(tmp_path / "w.npz", prefix="params/")


@pytest.mark.skipif(importlib.util.find_spec("torch") is not None, reason="torch is installed")
def test_a_torch_checkpoint_without_torch_says_how_to_read_it(tmp_path):
  (tmp_path / "w.pt").write_bytes(b"not read")
  with pytest.raises(ValueError, match=r"pip install 'flowzoo\[torch\]'"):
    convert.read(tmp_path / "w.pt")


class _Tensor:
  """What flowzoo asks of a torch tensor."""

  def __init__(self, array):
    self.array = array

  def detach(self):
    return self

  def cpu(self):
    return self

  def numpy(self):
    return self.array


@pytest.mark.parametrize("layout", ["state_dict", "release_checkpoint"])
def test_a_torch_checkpoint_is_loaded_weights_only_and_its_state_dict_read(
    tmp_path, monkeypatch, layout):
  """torch itself is an optional extra, absent in CI: a stand-in records the call."""
  state = {k: _Tensor(v) for k, v in ARRAYS.items()}
  if layout == "release_checkpoint":  # DenseFlow's train.py: the state_dict under 'model'
    state = {"model": state, "optimizer": {"state": {}}, "current_epoch": 400}
  calls = []
  fake = types.SimpleNamespace(
      Tensor=_Tensor, load=lambda path, **kw: calls.append(kw) or state)
  monkeypatch.setitem(sys.modules, "torch", fake)
  (tmp_path / "w.pth").write_bytes(b"")
  arrays = convert.read(tmp_path / "w.pth")
  assert calls == [{"map_location": "cpu", "weights_only": True}]
  assert sorted(arrays) == sorted(ARRAYS)


def test_tensors_name_what_is_missing_misshapen_or_left_over():
  tensors = convert.Tensors(ARRAYS, origin="w.npz")
  with pytest.raises(ValueError, match="'a/scale'"):
    tensors.take("a/scale")
  with pytest.raises(ValueError, match=r"'a/kernel' has shape \(2, 3\).*needs \(3, 2\)"):
    tensors.take("a/kernel", (3, 2))
  tensors.take("a/kernel", (2, 3))
  with pytest.raises(ValueError, match=r"1 tensor\(s\).*'a/bias'"):
    tensors.check_all_taken()
  tensors.take("a/bias", (3,))
  tensors.check_all_taken()


def test_converted_variables_must_have_the_models_leaves_and_shapes():
  abstract = {"params": {"w": jax.ShapeDtypeStruct((2, 3), jnp.float32)}}
  out = convert.check_variables({"params": {"w": np.zeros((2, 3), np.float64)}}, abstract, "x")
  assert out["params"]["w"].dtype == np.float32
  with pytest.raises(ValueError, match="not set.*params/w"):
    convert.check_variables({"params": {"v": np.zeros((2, 3))}}, abstract, "x")
  with pytest.raises(ValueError, match=r"params/w would get shape \(3, 2\)"):
    convert.check_variables({"params": {"w": np.zeros((3, 2))}}, abstract, "x")


# Given noise (flowzoo/bijectors/base.py): the draws collection.

def test_recorded_draws_given_back_reproduce_the_layer_and_init_records_none():
  layer = fb.UniformDequantization(scale=1 / 256, offset=-0.5)
  x = jnp.asarray(np.random.RandomState(0).randint(0, 256, (2, 4, 4, 3)), jnp.uint8)
  variables = layer.init({"params": jax.random.PRNGKey(0), "dequant": jax.random.PRNGKey(1)}, x)
  assert "draws" not in variables
  (y, ldj), state = layer.apply(variables, x, rngs={"dequant": jax.random.PRNGKey(2)},
                                mutable=["draws"])
  u = state["draws"]["u"]
  assert u.shape == x.shape and float(u.min()) >= 0 and float(u.max()) < 1
  y2, _ = layer.apply({**variables, "draws": state["draws"]}, x)  # no rng: nothing drawn
  np.testing.assert_array_equal(y, y2)
  np.testing.assert_allclose(y2, (np.asarray(x) + np.asarray(u)) / 256 - 0.5, atol=1e-7)
  with pytest.raises(ValueError, match=r"draws\['u'\].*\(1, 4, 4, 3\).*\(2, 4, 4, 3\)"):
    layer.apply({"draws": {"u": u[:1]}}, x)


def test_discrete_data_becomes_float64_under_x64():
  layer = fb.UniformDequantization()
  x = jnp.zeros((1, 2, 2, 1), jnp.uint8)
  with jax.enable_x64(True):
    y, ldj = layer.apply({}, x, rngs={"dequant": jax.random.PRNGKey(0)})
    assert y.dtype == jnp.float64 and ldj.dtype == jnp.float64
  y, _ = layer.apply({}, x, rngs={"dequant": jax.random.PRNGKey(0)})
  assert y.dtype == jnp.float32
