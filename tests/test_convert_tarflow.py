"""apple/ml-tarflow's weights in flowzoo's TarFlow give the reference code's outputs.

tests/data/parity/tarflow_official_small.npz (its README section) holds a small perturbed
TarFlow of the release, unconditional and with 3 classes, its inputs and what the
reference computes from them in float32 and in float64. Every quantity must agree to
float32 rounding (within FLOAT32_ROUNDING times the larger of the reference's own
float32 - float64 gap for it, recorded in the fixture, and one float32 epsilon of its
largest value; bpd also within 1e-5) and, in float64, to 1e-9 relative. Wrong loads
must miss by far, so that these comparisons can fail.

Each precision's outputs come from one jitted function; the float64 tests come last,
as the module-scoped x64 fixture stays on from the first test that asks for it.
"""
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flowzoo import convert, models
from flowzoo.models.base import bits_per_dim
from flowzoo.nets import causal_transformer
from tests import parity

FIXTURE = parity.path("tarflow")
SHAPE = (16, 16, 3)
D = int(np.prod(SHAPE))
SIGMA = 0.05  # the denoising step's sigma (meta_json "denoise")
FLOAT32_ROUNDING = 8  # times a quantity's float32 rounding (module docstring)
BPD_TOL, F64_REL = 1e-5, 1e-9
WRONG = 1e-3  # a wrong load misses the reference's z or bpd by more than this

UNCOND = ("z", "a", "b", "flow_logdet", "logdet", "logpdf_nats", "loglik_nats", "bpd", "loss",
          "recon", "sample", "sample_guided", "denoise_grad", "denoise_x")
COND = tuple("cond/" + k for k in (
    "z", "a", "b", "flow_logdet", "logdet", "bpd", "z_ynone", "logdet_ynone", "z_ydrop",
    "logdet_ydrop", "recon", "recon_ynone", "sample", "sample_cfg_annealed",
    "sample_cfg_const"))


@pytest.fixture(scope="module")
def ref():
  return parity.arrays("tarflow")


@pytest.fixture(scope="module")
def meta(ref):
  return json.loads(str(ref["meta_json"]))


def _arrays(cond=False):
  arrays = convert.read(FIXTURE, prefix="state_dict/")
  if cond:
    arrays.update(convert.read(FIXTURE, prefix="state_dict_cond_extra/"))
  return arrays


def _convert(arrays=None, cond=False, **changes):
  config = parity.config("tarflow_cond" if cond else "tarflow", **changes)
  return convert.convert("tarflow", _arrays(cond) if arrays is None else arrays, config)


def test_the_configs_are_the_fixtures_models(meta):
  for name, key in (("tarflow", "constructor"), ("tarflow_cond", "constructor_cond")):
    fields, config = meta[key], parity.config(name)
    cfg = config.model
    assert tuple(config.data.shape) == (fields["img_size"], fields["img_size"],
                                        fields["in_channels"])
    assert (cfg.patch_size, cfg.width, cfg.num_flows, cfg.layers_per_flow, cfg.num_classes,
            cfg.head_dim) == (fields["patch_size"], fields["channels"], fields["num_blocks"],
                              fields["layers_per_block"], fields["num_classes"],
                              meta["head_dim_override"])
    assert fields["nvp"]  # the affine flows, flowzoo's only kind
    count = models.count_config_params(config)
    assert count == meta["n_params_cond" if fields["num_classes"] else "n_params"]


@pytest.fixture(scope="module")
def model():
  return models.build_model(parity.config("tarflow"))


@pytest.fixture(scope="module")
def cond_model():
  return models.build_model(parity.config("tarflow_cond"))


@pytest.fixture(scope="module")
def variables():
  return _convert()


@pytest.fixture(scope="module")
def cond_variables():
  return _convert(cond=True)


def _inputs(ref, dtype):
  """x (NHWC) and the dequantization noise u that makes it: the fixture's u in float32
  (x = (k + u)/128 - 1 to 7.4e-8), in float64 the u for which it is exactly x_nchw."""
  x = parity.nhwc(ref["x_nchw"]).astype(dtype)
  if dtype == np.float32:
    return x, ref["noise"]
  return x, (x + 1) * 128 - ref["images"]


def _flows(state):
  return state["intermediates"]["flow"]["flows"]["flow"]


def _given(variables, **draws):
  return {**variables, "draws": draws}


def _generate(model, variables, eps, **kw):
  """`generate` from the prior noise `eps` given as the prior's draws."""
  return model.apply(_given(variables, prior={"eps": eps}), len(eps), **kw, method="generate")


def _likelihoods(z, ldj, a, b, log_prob):
  """The fixture's likelihood quantities of flowzoo's z, ldj (nats per image), per-flow
  a and b [flows, N, T, d] (NHWC images), and log_prob (nats per image)."""
  return dict(z=z, a=a, b=b, flow_logdet=-jnp.mean(a, axis=(2, 3)), logdet=ldj / D,
              loglik_nats=log_prob, bpd=bits_per_dim(log_prob, SHAPE),
              loss=0.5 * jnp.mean(z**2) - jnp.mean(ldj) / D)


def uncond_outputs(model, variables, ref, dtype):
  """Every unconditional quantity of the fixture, by its name there, from one jit."""
  x, u = _inputs(ref, dtype)

  @jax.jit
  def run(v, x, u, eps):
    (z, ldj), state = model.apply(v, x, method="forward", mutable=["intermediates"])
    flows = _flows(state)
    log_prob = model.apply(_given(v, dequantizer={"u": u}), ref["images"], method="log_prob")
    prior = model.apply(v, z, method=lambda m, z: m.prior.log_prob(z))
    # Reconstruction and sample as one generate from the latents z, eps given as draws.
    recon, sample = jnp.split(_generate(model, v, jnp.concatenate([z, eps])), 2)
    denoised = model.apply(v, x, sigma=SIGMA, method="denoise")
    return dict(
        _likelihoods(z, ldj, flows["a"][0], flows["b"][0], log_prob),
        logpdf_nats=prior + ldj, recon=recon, sample=sample,
        sample_guided=_generate(model, v, eps, guidance=1.5, attn_temp=0.5,
                                annealed_guidance=True),
        denoise_x=denoised,
        # d get_loss / dx of the batch-mean loss is -grad log p / (N D).
        denoise_grad=-(denoised - x) / SIGMA**2 / (len(x) * D))

  return _images_nchw(run(parity.cast(variables, dtype), x, u, ref["eps"].astype(dtype)))


def cond_outputs(model, variables, ref, dtype):
  """Every conditional quantity of the fixture, by its name there (and recon_ydrop), from
  one jit."""
  x, u = _inputs(ref, dtype)
  y, y_drop = ref["y_cond"], ref["y_drop"]

  @jax.jit
  def run(v, x, u, eps):
    (z, ldj), state = model.apply(v, x, labels=y, method="forward", mutable=["intermediates"])
    flows = _flows(state)
    log_prob = model.apply(_given(v, dequantizer={"u": u}), ref["images"], labels=y,
                           method="log_prob")
    z_ynone, ldj_ynone = model.apply(v, x, method="forward")
    z_ydrop, ldj_ydrop = model.apply(v, x, labels=y_drop, method="forward")
    # The unguided inverses as one generate: labels None are labels -1 (the mean).
    recon, recon_ynone, recon_ydrop, sample = jnp.split(_generate(
        model, v, jnp.concatenate([z, z_ynone, z_ydrop, eps]),
        labels=np.concatenate([y, -np.ones_like(y), y_drop, y])), 4)
    guided = lambda annealed: _generate(model, v, eps, labels=y, guidance=2.0,
                                        annealed_guidance=annealed)
    out = dict(
        _likelihoods(z, ldj, flows["a"][0], flows["b"][0], log_prob),
        z_ynone=z_ynone, logdet_ynone=ldj_ynone / D, z_ydrop=z_ydrop,
        logdet_ydrop=ldj_ydrop / D, recon=recon, recon_ynone=recon_ynone,
        recon_ydrop=recon_ydrop, sample=sample, sample_cfg_annealed=guided(True),
        sample_cfg_const=guided(False))
    return {k: v for k, v in out.items() if k not in ("loglik_nats", "loss")}

  out = _images_nchw(run(parity.cast(variables, dtype), x, u, ref["eps"].astype(dtype)))
  return {"cond/" + k: v for k, v in out.items()}


IMAGES = ("recon", "recon_ynone", "recon_ydrop", "sample", "sample_guided", "sample_cfg_annealed",
          "sample_cfg_const", "denoise_x", "denoise_grad")


def _images_nchw(outputs):
  """flowzoo's NHWC images in the reference's NCHW layout."""
  return {k: parity.nchw(v) if k in IMAGES else np.asarray(v) for k, v in outputs.items()}


def _max_diff(a, b):
  return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


@pytest.fixture(scope="module")
def f32(ref, model, variables, cond_model, cond_variables):
  return {**uncond_outputs(model, variables, ref, np.float32),
          **cond_outputs(cond_model, cond_variables, ref, np.float32)}


@pytest.mark.parametrize("name", UNCOND + COND)
def test_float32_reproduces_the_reference(ref, meta, f32, name):
  assert f32[name].dtype == np.float32
  desired = ref["f32/" + name]
  tol = FLOAT32_ROUNDING * max(meta["max_abs_f32_minus_f64"][name],
                               np.finfo(np.float32).eps * np.max(np.abs(desired)))
  if name.endswith("bpd"):
    tol = min(tol, BPD_TOL)
  assert _max_diff(f32[name], desired) <= tol


def test_a_dropped_label_inverts_its_forward(ref, f32):
  # The release's reverse reads -1 as the last class (transformer_flow.py:194-198), so its
  # recon_ydrop misses x at the dropped images 1 and 3; flowzoo uses the mean there too.
  x = ref["x_nchw"]
  dropped = ref["y_drop"] < 0
  assert list(np.flatnonzero(dropped)) == [1, 3]
  assert _max_diff(f32["cond/recon_ydrop"], x) < 2e-6
  assert _max_diff(f32["cond/recon_ydrop"][~dropped], ref["f32/cond/recon_ydrop"][~dropped]) < 2e-6
  assert _max_diff(ref["f32/cond/recon_ydrop"][dropped], x[dropped]) > 0.5


def _pos_embed_not_flipped(variables):
  """What a port that does not flip pos_embed with the tokens would compute."""
  net = variables["params"]["flow"]["flows"]["flow"]["net"]
  pos = np.array(net["pos_embed"])
  pos[1::2] = pos[1::2, ::-1]
  return _replaced(variables, pos_embed=pos)


def _patch_features_channel_last(variables):
  """Weights permuted for tokens of (row, column, channel) features, flowzoo's other
  patch order (Jet's), when the model reads (channel, row, column) as the release."""
  net = variables["params"]["flow"]["flows"]["flow"]["net"]
  perm = np.arange(48).reshape(3, 4, 4).transpose(1, 2, 0).ravel()  # d = 3 * 4 * 4
  proj_in = {**net["proj_in"], "kernel": np.asarray(net["proj_in"]["kernel"])[:, perm]}
  both = np.concatenate([perm, perm + len(perm)])
  proj_out = {"kernel": np.asarray(net["proj_out"]["kernel"])[..., both],
              "bias": np.asarray(net["proj_out"]["bias"])[..., both]}
  return _replaced(variables, proj_in=proj_in, proj_out=proj_out)


def _ab_halves_swapped(variables):
  net = variables["params"]["flow"]["flows"]["flow"]["net"]
  swap = lambda a: np.concatenate(np.split(np.asarray(a), 2, axis=-1)[::-1], axis=-1)
  return _replaced(variables, proj_out=jax.tree.map(swap, net["proj_out"]))


def _replaced(variables, **net_leaves):
  net = variables["params"]["flow"]["flows"]["flow"]["net"]
  return {"params": {"flow": {"flows": {"flow": {"net": {**net, **net_leaves}}}}}}


WRONG_LOADS = {"pos_embed not flipped with the tokens": _pos_embed_not_flipped,
               "patch features (row, column, channel)": _patch_features_channel_last,
               "a and b halves swapped": _ab_halves_swapped}


@pytest.fixture(scope="module")
def likelihood(model):
  return jax.jit(lambda v, images, u: model.apply(
      _given(v, dequantizer={"u": u}), images, method="log_prob"))


@pytest.fixture(scope="module")
def forward(model):
  return jax.jit(lambda v, x: model.apply(v, x, method="forward"))


@pytest.mark.parametrize("name", list(WRONG_LOADS))
def test_a_wrong_load_misses_the_reference_by_far(ref, variables, forward, likelihood, name):
  wrong = WRONG_LOADS[name](variables)
  x, u = _inputs(ref, np.float32)
  z, _ = forward(wrong, x)
  bpd = bits_per_dim(likelihood(wrong, ref["images"], u), SHAPE)
  assert _max_diff(z, ref["f32/z"]) > WRONG and _max_diff(bpd, ref["f32/bpd"]) > WRONG


def test_a_missing_tensor_is_named():
  arrays = _arrays()
  del arrays["blocks.1.attn_blocks.0.mlp.main.2.bias"]
  with pytest.raises(ValueError, match=r"'blocks\.1\.attn_blocks\.0\.mlp\.main\.2\.bias'"):
    _convert(arrays)


def test_an_extra_tensor_is_named():
  arrays = _arrays()
  arrays["blocks.3.proj_in.weight"] = np.zeros((64, 48), np.float32)  # a fourth flow
  with pytest.raises(ValueError, match=r"'blocks\.3\.proj_in\.weight'"):
    _convert(arrays)


def test_a_misshapen_tensor_is_named():
  arrays = _arrays()
  name = "blocks.0.attn_blocks.1.attention.qkv.weight"
  arrays[name] = arrays[name].T
  with pytest.raises(ValueError, match=rf"'{name}' has shape \(64, 192\).*\(192, 64\)"):
    _convert(arrays)


def test_class_embeddings_for_an_unconditional_config_say_how_many_classes():
  with pytest.raises(ValueError, match=r"config\.model\.num_classes=3"):
    _convert(_arrays(cond=True))


def test_a_conditional_config_needs_the_class_embeddings():
  with pytest.raises(ValueError, match=r"'blocks\.0\.class_embed'"):
    _convert(_arrays(), cond=True)


def test_the_buffers_are_checked():
  arrays = _arrays()
  arrays["blocks.2.attn_mask"] = np.ones((16, 16), np.float32)
  with pytest.raises(ValueError, match=r"blocks\.2\.attn_mask is not the causal mask"):
    _convert(arrays)
  arrays = _arrays()
  arrays["var"] = arrays["var"] * 1.5  # a learned prior: the volume-preserving variant
  with pytest.raises(ValueError, match=r"'var' is not all ones.*nvp=False"):
    _convert(arrays)


# float64 from here on: the x64 fixture stays on to the end of the module.

@pytest.fixture(scope="module")
def f64(x64, ref, model, variables, cond_model, cond_variables):
  return {**uncond_outputs(model, variables, ref, np.float64),
          **cond_outputs(cond_model, cond_variables, ref, np.float64)}


def _relative(actual, desired):
  return _max_diff(actual, desired) / float(np.max(np.abs(desired)))


@pytest.mark.parametrize("name", UNCOND + COND)
def test_float64_reproduces_the_reference(ref, f64, name):
  assert f64[name].dtype == np.float64
  assert _relative(f64[name], ref["f64/" + name]) <= F64_REL


def _z64(ref, variables):
  model = models.build_model(parity.config("tarflow"))
  x, _ = _inputs(ref, np.float64)
  return jax.jit(lambda v, x: model.apply(v, x, method="forward")[0])(
      parity.cast(variables, np.float64), x)


@pytest.mark.parametrize("default", ["tanh GELU", "LayerNorm epsilon 1e-6"])
def test_flax_defaults_are_visible_in_float64(x64, ref, variables, monkeypatch, default):
  if default == "tanh GELU":
    monkeypatch.setattr(causal_transformer, "gelu", jax.nn.gelu)  # approximate=True
  else:
    monkeypatch.setattr(causal_transformer, "LN_EPSILON", 1e-6)
  # The reference measured 3.1e-4 and 2.7e-5 on z: thousands of times the tolerance.
  assert _relative(_z64(ref, variables), ref["f64/z"]) > 1e3 * F64_REL
