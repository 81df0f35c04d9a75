"""big_vision's Jet weights in flowzoo's Jet give the reference code's outputs.

tests/data/parity/jet_big_vision_small.npz (described in its README section) holds a
small perturbed big_vision Jet, its inputs and its float32 outputs: z and logdet of
Model.forward on clean and on noisy images, and the trainer's bits per dimension.
Tolerances are the fixture's: 1e-5 on z and bpd, 1e-4 nats on the logdet. Wrong
loads must miss them by far, so that these comparisons can fail.

The float64 tests come last: the module-scoped x64 fixture stays on from the first
test that asks for it to the end of the module.
"""
import json

import jax
import numpy as np
import pytest

from flowzoo import convert, models
from flowzoo.models import jet
from flowzoo.models.base import bits_per_dim
from tests import parity

FIXTURE = parity.path("jet")
Z_TOL, LOGDET_TOL, BPD_TOL = 1e-5, 1e-4, 1e-5
WRONG = 1e-3  # a wrong load misses the reference by more than this


def _config(**changes):
  return parity.config("jet", **changes)


def _convert(arrays=None, **changes):
  if arrays is None:
    arrays = convert.read(FIXTURE, prefix="params/")
  return convert.convert("jet", arrays, _config(**changes))


@pytest.fixture(scope="module")
def ref():
  return parity.arrays("jet")


def test_the_config_is_the_fixtures_model(ref):
  """tests/data/parity/configs.py:jet against the fields big_vision's Model was built with."""
  meta = json.loads(str(ref["meta_json"]))
  fields, cfg = meta["model_fields"], _config().model
  # flowzoo's Jet has random channel permutations and 2 sigmoid(h) scales only.
  assert fields["channels_coupling_projs"] == ["random"] and fields["scale_factor"] == 2.0
  assert tuple(_config().data.shape) == tuple(meta["image_shape"])
  assert (cfg.patch_size, cfg.num_couplings, cfg.vit_depth, cfg.width, cfg.num_heads) == (
      fields["ps"], fields["depth"], fields["block_depth"], fields["emb_dim"],
      fields["num_heads"])
  assert tuple(cfg.kinds) == tuple(fields["kinds"])
  assert tuple(cfg.spatial_patterns) == tuple(fields["spatial_coupling_projs"])


@pytest.fixture(scope="module")
def model():
  return models.build_model(_config())


@pytest.fixture(scope="module")
def variables():
  return _convert()


@pytest.fixture(scope="module")
def forward(model):
  return jax.jit(lambda v, x: model.apply(v, x, method="forward"))


@pytest.fixture(scope="module")
def log_prob(model):
  """log_prob of uint8 images with the dequantization noise u in [0, 1) given."""
  return jax.jit(lambda v, images, u: model.apply(
      {**v, "draws": {"dequantizer": {"u": u}}}, images, method="log_prob"))


def _given_u(ref):
  # The trainer's noise is uniform in [0, 1/127.5): one bin of x / 127.5 - 1.
  return ref["noise"] * 127.5


def _max_diff(a, b):
  return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def _leaf(variables, path):
  for key in path.split("/"):
    variables = variables[key]
  return variables


def _replace(variables, path, fn):
  """A copy of `variables` whose leaf at '/'-joined `path` is fn(leaf)."""
  out = jax.tree.map(lambda a: a, variables)
  parent, name = path.rsplit("/", 1)
  _leaf(out, parent)[name] = fn(np.array(_leaf(out, path)))
  return out


@pytest.mark.parametrize("which", ["clean", "noisy"])
def test_forward_gives_the_reference_z_and_logdet(ref, variables, forward, which):
  z, logdet = forward(variables, ref[f"x_{which}"])
  assert z.dtype == np.float32
  assert _max_diff(z, ref[f"z_{which}"]) < Z_TOL
  assert _max_diff(logdet, ref[f"logdet_{which}"]) < LOGDET_TOL


def test_draws_of_log_prob_are_the_dequantizer_noise_alone(ref, model, variables):
  # The layout that test_bpd_* give: what log_prob records when 'draws' is mutable.
  _, state = jax.eval_shape(lambda v, x: model.apply(
      v, x, rngs=models.rngs(jax.random.PRNGKey(0)), method="log_prob", mutable=["draws"]),
      variables, ref["images_u8"])
  assert jax.tree.map(lambda a: a.shape, state["draws"]) == {
      "dequantizer": {"u": ref["images_u8"].shape}}


def test_bpd_with_the_reference_noise_is_the_reference_bpd(ref, variables, log_prob):
  bpd = bits_per_dim(log_prob(variables, ref["images_u8"], _given_u(ref)), ref["x_clean"].shape[1:])
  assert _max_diff(bpd, ref["bpd_noisy"]) < BPD_TOL


def test_bpd_without_noise_is_the_reference_clean_bpd(ref, model, variables, forward, log_prob):
  shape = ref["x_clean"].shape[1:]
  z, logdet = forward(variables, ref["x_clean"])
  prior = model.apply(variables, z, method=lambda m, z: m.prior.log_prob(z))
  # The trainer's formula: a density on [-1, 1] made the probability of a bin 1/127.5 wide.
  bpd = bits_per_dim(prior + logdet - np.prod(shape) * np.log(127.5), shape)
  assert _max_diff(bpd, ref["bpd_clean"]) < BPD_TOL
  # x_clean is the dequantizer's output for zero noise.
  zero = np.zeros(ref["images_u8"].shape, np.float32)
  assert _max_diff(bits_per_dim(log_prob(variables, ref["images_u8"], zero), shape),
                   ref["bpd_clean"]) < BPD_TOL


def _channel_splits_swapped(m):
  assert m[0].any() and m[1].any()  # couplings 0 and 1 are channel couplings
  return m[[1, 0, *range(2, len(m))]]


def _final_proj_halves_swapped(a):
  half = a.shape[-1] // 2
  return np.concatenate([a[..., half:], a[..., :half]], axis=-1)


def _query_kernel_transposed(k):
  n, width = k.shape[0], k.shape[1]  # [couplings, width, heads, head width]
  return np.swapaxes(k.reshape(n, width, width), 1, 2).reshape(k.shape)


def _flowzoo_own_draw(m):
  # What flowzoo's init would hold: its own permutations, not the checkpoint's.
  cfg = _config().model
  plan = jet.coupling_plan(cfg.num_couplings, cfg.kinds, cfg.spatial_patterns)
  return np.asarray(jet.channel_splits(jax.random.PRNGKey(0), plan, m.shape[-1]))


CONDITIONER = "params/flow/layers_1/couplings/coupling/conditioner/"
WRONG_LOADS = {
    "channel splits of couplings 0 and 1 swapped":
        ("consts/flow/layers_1/channel_splits", _channel_splits_swapped),
    "final_proj kernel halves (bias, raw scale) swapped":
        (CONDITIONER + "final_proj/kernel", _final_proj_halves_swapped),
    "final_proj bias halves (bias, raw scale) swapped":
        (CONDITIONER + "final_proj/bias", _final_proj_halves_swapped),
    "square attention query kernel transposed":
        (CONDITIONER + "vit/encoderblock_0/MultiHeadDotProductAttention_0/query/kernel",
         _query_kernel_transposed),
    "channel splits left at flowzoo's own random draw":
        ("consts/flow/layers_1/channel_splits", _flowzoo_own_draw),
}


@pytest.mark.parametrize("name", list(WRONG_LOADS))
def test_a_wrong_load_misses_the_reference_by_far(ref, variables, forward, log_prob, name):
  path, fn = WRONG_LOADS[name]
  wrong = _replace(variables, path, fn)
  assert _max_diff(_leaf(wrong, path), _leaf(variables, path)) > 0
  z, _ = forward(wrong, ref["x_noisy"])
  bpd = bits_per_dim(log_prob(wrong, ref["images_u8"], _given_u(ref)), ref["x_clean"].shape[1:])
  assert max(_max_diff(z, ref["z_noisy"]), _max_diff(bpd, ref["bpd_noisy"])) > WRONG


def _arrays():
  return convert.read(FIXTURE, prefix="params/")


def test_a_missing_tensor_is_named():
  arrays = _arrays()
  del arrays["couplings/dnn/vit/encoder_norm/scale"]
  with pytest.raises(ValueError, match="couplings/dnn/vit/encoder_norm/scale"):
    _convert(arrays)


def test_an_extra_tensor_is_named():
  arrays = _arrays()
  arrays["couplings/dnn/vit/encoderblock_1/LayerNorm_0/scale"] = np.ones((6, 32), np.float32)
  with pytest.raises(ValueError, match="couplings/dnn/vit/encoderblock_1/LayerNorm_0/scale"):
    _convert(arrays)


def test_a_misshapen_tensor_is_named():
  arrays = _arrays()
  name = "couplings/dnn/init_proj/kernel"
  arrays[name] = np.swapaxes(arrays[name], 1, 2)
  with pytest.raises(ValueError, match=f"{name}.*shape \\(6, 32, 24\\)"):
    _convert(arrays)


def test_kinds_that_disagree_with_the_masks_are_refused():
  with pytest.raises(ValueError, match=r"config\.model\.kinds=\('channels', 'spatial'\)"):
    _convert(kinds=("channels", "spatial"))


def test_a_mask_that_is_no_permutation_is_refused():
  arrays = _arrays()
  arrays["channel_coupling_masks-FREEZE_ME"][1, 0] += 1.0  # two 1s in a column
  with pytest.raises(ValueError, match=r"config\.model\.kinds.*'neither'"):
    _convert(arrays)


def test_another_spatial_pattern_is_refused_and_the_found_one_named():
  with pytest.raises(ValueError, match=r"config\.model\.spatial_patterns=.*coupling 2 split by "
                     r"'checkerboard-inv'.*the pattern 'checkerboard'"):
    _convert(spatial_patterns=("checkerboard-inv", "hstripes-inv"))


def test_masking_mode_is_refused():
  with pytest.raises(ValueError, match=r"config\.model\.mode='masking'"):
    _convert(mode="masking")


def test_a_training_state_read_without_the_params_prefix_is_refused():
  # The whole file: "params/..." and the fixture's inputs and outputs.
  with pytest.raises(ValueError, match="--prefix=params/"):
    _convert(convert.read(FIXTURE))


def _float64(variables):
  return parity.cast(variables, np.float64)


@pytest.mark.parametrize("which", ["clean", "noisy"])
def test_float64_forward_gives_the_float32_reference(x64, ref, variables, forward, which):
  z, logdet = forward(_float64(variables), ref[f"x_{which}"].astype(np.float64))
  assert z.dtype == logdet.dtype == np.float64
  assert _max_diff(z, ref[f"z_{which}"]) < Z_TOL
  assert _max_diff(logdet, ref[f"logdet_{which}"]) < LOGDET_TOL


def test_float64_log_prob_of_uint8_images(x64, ref, variables, log_prob):
  lp = log_prob(_float64(variables), ref["images_u8"], _given_u(ref).astype(np.float64))
  assert lp.dtype == np.float64
  assert _max_diff(bits_per_dim(lp, ref["x_clean"].shape[1:]), ref["bpd_noisy"]) < BPD_TOL
