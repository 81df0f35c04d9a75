"""rosinality/glow-pytorch -> flowzoo: the converted port computes the port's function.

The fixture tests/data/parity/glow_rosinality_small.npz (described in the section
"glow_rosinality_small.npz" of the parity README) holds a small port Glow (3 blocks of
2 flows, width 32) with perturbed weights, 8 CIFAR-sized images, their dequantisation
noise, sampling noise, and what the port computes from them in float64 and float32.
configs/glow_cifar10.py:port at that size, with the converted weights, must give the
same log-likelihood, log-det, latents, reconstruction and samples: to 1e-9 of their
scale in float64, to float32 rounding in float32. Deliberately wrong loads (zero
padding, a transposed kernel, an identity permutation, halves read interleaved, the
log-scale without its factor 3) must miss by far more, so the comparison can fail.

flowzoo keeps each factored-out latent as its standardised noise eps (bijectors/
split.py): its flow's ldj holds -sum(log_std) of the split priors, which the port
counts in log_p instead; the captured split outputs give that sum.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flowzoo import bijectors as fb
from flowzoo import models
from flowzoo.convert import convert, read
from flowzoo.convert import glow as glow_convert
from flowzoo.models.base import bits_per_dim
from flowzoo.nets import ZeroConv
from tests import parity
from tests.parity import nchw, nhwc

FIXTURE = parity.path("glow")
SHAPE = (32, 32, 3)
D = int(np.prod(SHAPE))
LEVELS = 3
TEMPERATURES = (1.0, 0.7)


def port_config(**model):
  """configs/glow_cifar10.py:port at the fixture's size (tests/data/parity/configs.py)."""
  return parity.config("glow", **model)


@pytest.fixture(scope="module")
def ref():
  return parity.arrays("glow")


@pytest.fixture(scope="module")
def arrays():
  return read(FIXTURE, prefix="state_dict/")


def model_input(ref, dtype):
  """x = images/256 - 0.5 + noise/256 in float64 (as the fixture), NHWC."""
  x = ref["images"].astype(np.float64) / 256 - 0.5 + ref["noise"].astype(np.float64) / 256
  return x.astype(dtype)


def _is_captured(module, method):
  """The dequantizer's and the flow's outputs, each split's (kept, eps) and ldj, and
  the split and top priors' conv outputs."""
  return method == "__call__" and (
      isinstance(module, (fb.UniformDequantization, fb.Split)) or module.name == "flow"
      or (isinstance(module, ZeroConv) and module.name in ("prior", "top")))


def _sample_latents(m, n, temperature):
  return m.prior.sample(n, temperature)


def evaluator(model, with_inverse=True):
  """One compiled function from (variables, images, noise, sampling draws per T) to
  every quantity the fixture has: log_prob with the fixture's noise given as the
  dequantizer's draws (bijectors/base.py), whose forward pass is captured; the
  prior's samples with the fixture's sample_eps given as its draws; and one inverse
  of the latents and of the samples' latents stacked on the batch axis."""

  @jax.jit
  def evaluate(variables, images, noise, sample_draws):
    given = {**variables, "draws": {"dequantizer": {"u": noise}}}
    log_prob, state = model.apply(given, images, method="log_prob",
                                  capture_intermediates=_is_captured)
    found = state["intermediates"]
    x, ldj_dequant = found["dequantizer"]["__call__"][0]
    z, ldj = found["flow"]["__call__"][0]
    split_log_sd = -sum(found["flow"][f"split{i}"]["__call__"][0][1] for i in range(LEVELS - 1))
    top = found["prior"]["top"]["__call__"][0]  # (1, h, w, 2c): (mean, log_std) halves
    c = z[-1].shape[-1]
    top_mean, top_log_sd = top[..., :c], top[..., c:]
    # The port counts the split priors' log_sd in log_p, flowzoo in the flow's ldj.
    out = {"x": x, "log_prob": log_prob, "bpd": bits_per_dim(log_prob, SHAPE),
           "loglik_nats": log_prob, "logdet": ldj + split_log_sd,
           "log_p": log_prob - ldj - ldj_dequant - split_log_sd,
           "split_log_sd_sum": split_log_sd,
           "eps/2": (z[-1] - top_mean) * jnp.exp(-top_log_sd), "z/2": z[-1]}
    for i in range(LEVELS - 1):
      h = found["flow"][f"split{i}"]["prior"]["__call__"][0]
      mean, log_sd = h[..., 0::2], h[..., 1::2]  # flowzoo's interleaved split prior
      out[f"eps/{i}"], out[f"z/{i}"] = z[i], mean + jnp.exp(log_sd) * z[i]
    if with_inverse:
      # Samples as the port's reverse(reconstruct=False): flowzoo's prior gives T * eps
      # for the factored-out latents (its inverse's split priors map them) and the top
      # latent through the learned top prior, mean + exp(log_sd) * T * eps.
      latents = [z] + [model.apply({**variables, "draws": {"prior": draws}}, len(images), t,
                                   method=_sample_latents)
                       for t, draws in zip(TEMPERATURES, sample_draws)]
      stacked = jax.tree.map(lambda *a: jnp.concatenate(a), *latents)
      x_back = model.apply(variables, stacked, method="inverse")[0]
      names = ["reconstruction"] + [f"sample_T{t}" for t in TEMPERATURES]
      out.update(zip(names, jnp.split(x_back, len(names))))
      # flowzoo's sample() ends with the dequantizer's inverse: the pixels.
      for t in TEMPERATURES:
        out[f"pixels_T{t}"] = model.apply(
            variables, out[f"sample_T{t}"], inverse=True,
            method=lambda m, x, inverse: m.dequantizer(x, inverse=inverse)[0])
    return out

  return evaluate


def sample_draws(ref, temperature, dtype):
  """The prior's draws for T * sample_eps. The fixture multiplied by T in float32
  (torch: a float32 tensor times a Python float) before casting to float64; the draws
  are that product / T, so that flowzoo's T * eps is it again (in float64 throughout,
  the T = 0.7 samples would differ from the fixture's by 3e-8)."""
  product = lambda i: (np.float32(temperature) * nhwc(ref[f"sample_eps/{i}"])).astype(dtype)
  return {f"eps{i}": product(i) / dtype(temperature) for i in range(LEVELS)}


def run(ref, dtype, variables, evaluate):
  """Every compared quantity, NCHW where the fixture is."""
  draws = [sample_draws(ref, t, dtype) for t in TEMPERATURES]
  out = evaluate(variables, ref["images"], ref["noise"].astype(dtype), draws)
  return {k: nchw(v) if np.ndim(v) == 4 else np.asarray(v) for k, v in out.items()}


def convert_port(arrays, config=None):
  return convert("glow", arrays, config or port_config(), origin="the fixture")


@pytest.fixture(scope="module")
def f64(ref, arrays):
  """The float64 results: converted (its variables are float64 under x64), compiled and
  run under x64, which is on only inside these `with` blocks, not for the module."""
  with jax.enable_x64(True):
    config = port_config()
    model = models.build_model(config)
    variables = convert_port(arrays, config)
    evaluate = evaluator(model)
    return dict(model=model, variables=variables, evaluate=evaluate,
                out=run(ref, np.float64, variables, evaluate))


@pytest.fixture(scope="module")
def f32(ref, arrays):
  config = port_config()
  model = models.build_model(config)
  variables = convert_port(arrays, config)
  return dict(model=model, variables=variables,
              out=run(ref, np.float32, variables, evaluator(model)))


PER_IMAGE = ("log_p", "logdet", "loglik_nats", "bpd", "split_log_sd_sum")
ARRAYS = tuple(f"{k}/{i}" for i in range(LEVELS) for k in ("z", "eps")) + (
    "reconstruction", "sample_T1.0", "sample_T0.7")


def differences(out, ref, prefix):
  """{quantity: (max relative difference, max absolute difference)}: relative per
  image for the per-image sums, relative to the array's largest entry for arrays."""
  found = {}
  for k in PER_IMAGE + ARRAYS:
    want, got = ref[prefix + k], np.asarray(out[k], np.float64)
    assert got.shape == want.shape, k
    diff = np.abs(got - want)
    scale = np.abs(want) if k in PER_IMAGE else np.max(np.abs(want))
    found[k] = (float(np.max(diff / scale)), float(np.max(diff)))
  return found


def report(title, found):
  print(f"\n{title}: max relative / absolute differences")
  for k, (rel, abs_) in found.items():
    print(f"  {k:18s} {rel:.2e} {abs_:.2e}")


def test_float64_agrees_with_the_port(f64, ref):
  """Every quantity to 1e-9 of its size: the same function, not a near one."""
  assert all(a.dtype == np.float64 for a in jax.tree_util.tree_leaves(f64["variables"]))
  assert all(a.dtype == np.float64 for k, a in f64["out"].items() if not k.startswith("pixels"))
  found = differences(f64["out"], ref, "f64/")
  report("float64", found)
  bad = {k: v for k, v in found.items() if not v[0] <= 1e-9}
  assert not bad, bad


def test_float32_agrees_to_float32_rounding(f32, ref):
  assert all(a.dtype == np.float32 for a in jax.tree_util.tree_leaves(f32["variables"]))
  assert f32["out"]["bpd"].dtype == np.float32
  found = differences(f32["out"], ref, "f32/")
  report("float32", found)
  assert found["bpd"][1] <= 1e-5  # per image, in bits per dimension
  for k in ("log_p", "logdet", "loglik_nats", "split_log_sd_sum"):
    assert found[k][0] <= 1e-6, (k, found[k])
  for k in ARRAYS:
    # Latents to 1e-5 of their scale; reconstruction and samples, which run the flow
    # back (the fixture's own float32 reconstruction is 3.4e-6 off x), to 3e-5.
    tolerance = 1e-5 if k[:2] in ("z/", "ep") else 3e-5
    assert found[k][0] <= tolerance, (k, found[k])


@pytest.mark.parametrize("precision,atol", [("f64", 1e-15), ("f32", 6e-8)])
def test_the_given_noise_dequantizes_to_the_ports_input(precision, atol, f64, f32, ref):
  """log_prob's dequantizer, given the fixture's noise, gives the port's input x =
  images/256 - 0.5 + noise/256, and the inverse of its latents gives x back."""
  out, dtype = dict(f64=(f64, np.float64), f32=(f32, np.float32))[precision]
  out = out["out"]
  x = nchw(model_input(ref, dtype))
  assert out["x"].dtype == dtype
  np.testing.assert_allclose(out["x"], x, rtol=0, atol=atol)
  np.testing.assert_allclose(out["reconstruction"], x, rtol=0, atol=1e3 * atol)


@pytest.mark.parametrize("precision", ["f64", "f32"])
def test_samples_quantize_to_the_ports_pixels(precision, f64, f32, ref):
  """flowzoo's sample() ends with the dequantizer's inverse; on the port's samples
  that is floor((x + 0.5) * 256) clipped to 0..255, as the parity README says."""
  out = dict(f64=f64, f32=f32)[precision]["out"]
  for t in TEMPERATURES:
    want = np.clip(np.floor((ref[f"{precision}/sample_T{t}"] + 0.5) * 256), 0, 255)
    got = out[f"pixels_T{t}"]
    assert got.dtype == np.uint8
    wrong = got != want
    # float32 samples may round across a bin edge; float64 ones do not.
    assert np.mean(wrong) <= (0 if precision == "f64" else 1e-3), (t, np.mean(wrong))
    assert np.all(np.abs(got.astype(int) - want) <= 1)


def test_the_draws_given_are_the_ones_recorded(f64, ref):
  """The layout of the given noise is the one log_prob and sample record in 'draws'
  when that collection is mutable; under x64 they draw in float64, and log_prob of
  uint8 images is float64."""
  model, variables = f64["model"], f64["variables"]
  images = jax.ShapeDtypeStruct((8, *SHAPE), np.uint8)
  rngs = models.rngs(jax.random.key(0))
  with jax.enable_x64(True):
    log_prob, state = jax.eval_shape(lambda v, im: model.apply(
        v, im, rngs=rngs, method="log_prob", mutable=["draws"]), variables, images)
    _, sampled = jax.eval_shape(lambda v: model.apply(
        v, 8, 0.7, rngs=rngs, method="sample", mutable=["draws"]), variables)
  recorded = jax.tree.map(lambda a: (a.shape, a.dtype), state["draws"])
  assert recorded == {"dequantizer": {"u": (images.shape, np.float64)}}
  assert log_prob.dtype == np.float64
  given = jax.tree.map(lambda a: a.shape, sample_draws(ref, 0.7, np.float64))
  recorded = jax.tree.map(lambda a: a.shape, sampled["draws"])
  assert recorded == {"prior": given}
  assert all(a.dtype == np.float64 for a in jax.tree_util.tree_leaves(sampled["draws"]))


# ---- wrong loads miss by far -----------------------------------------------------


def _with(arrays, **changes):
  return {**arrays, **changes}


def _swap_oi(w):
  return np.ascontiguousarray(np.transpose(w, (1, 0, 2, 3)))


def test_wrong_loads_miss_far_above_tolerance(f64, ref, arrays, monkeypatch):
  """Each wrong load moves bpd or the latents by orders of magnitude more than the
  1e-9 the right one agrees to, so the parity test would catch it."""
  step = "blocks.1.flows.0"
  c = arrays[f"{step}.invconv.w_p"].shape[0]
  with jax.enable_x64(True):
    def miss(variables, evaluate=f64["evaluate"]):
      """The largest bpd difference, the largest latent difference relative to scale."""
      out = run(ref, np.float64, variables, evaluate)
      bpd = float(np.max(np.abs(out["bpd"] - ref["f64/bpd"])))
      latent = max(float(np.max(np.abs(out[f"z/{i}"] - ref[f"f64/z/{i}"]))
                         / np.max(np.abs(ref[f"f64/z/{i}"]))) for i in range(LEVELS))
      return bpd, latent

    misses = {
        "square 1x1 kernel transposed": miss(convert_port(_with(arrays, **{
            f"{step}.coupling.net.2.weight": _swap_oi(arrays[f"{step}.coupling.net.2.weight"])}))),
        "w_p at the identity": miss(convert_port(_with(arrays, **{
            f"{step}.invconv.w_p": np.eye(c, dtype=np.float32)}))),
        # openai/glow's zero padding in the ZeroConvs, with the right weights.
        "zero padding": miss(f64["variables"], evaluator(
            models.build_model(port_config(zero_conv_pad=0.0)), with_inverse=False)),
    }
    variables = jax.tree.map(lambda a: a, f64["variables"])  # new containers, same arrays
    for i in range(LEVELS):
      actnorm = variables["params"]["flow"][f"level{i}"]["steps"]["layer"]["ActNorm_0"]
      actnorm["logscale"] = actnorm["logscale"] * 3
    misses["log-scale stored without / 3"] = miss(variables)
    # The port's (first half, second half) read as flowzoo's (even, odd) unpermuted.
    monkeypatch.setattr(glow_convert, "_interleave", lambda a, b: np.arange(2 * len(a)))
    misses["halves read interleaved"] = miss(convert_port(arrays))
  print("\nwrong loads: max |bpd difference|, max latent difference / scale")
  for what, (bpd, latent) in misses.items():
    print(f"  {what:30s} {bpd:.2e} {latent:.2e}")
  for what, (bpd, latent) in misses.items():
    assert not bpd <= 1e-3 or not latent <= 1e-3, (what, bpd, latent)


def test_an_additive_port_maps_its_shift_unpermuted(arrays):
  """Glow(affine=False): the coupling net's ZeroConv2d outputs the shift t only
  (model.py:167, 189-190), as flowzoo's additive coupling reads it."""
  additive = dict(arrays)
  for name in arrays:
    if ".coupling.net.4." in name:  # keep c/2 of the c output channels
      additive[name] = arrays[name][:, :arrays[name].shape[1] // 2] if name.endswith(
          "scale") else arrays[name][:arrays[name].shape[0] // 2]
  variables = convert_port(additive, port_config(coupling="additive"))
  zero_conv = variables["params"]["flow"]["level1"]["steps"]["layer"]["AffineCoupling_0"][
      "conditioner"]["ZeroConv_0"]
  port = "blocks.1.flows.1.coupling.net.4"
  np.testing.assert_array_equal(zero_conv["Conv_0"]["bias"][1], additive[f"{port}.conv.bias"])
  np.testing.assert_array_equal(zero_conv["logs"][1], additive[f"{port}.scale"].reshape(-1))
  np.testing.assert_array_equal(zero_conv["Conv_0"]["kernel"][1],
                                additive[f"{port}.conv.weight"].transpose(2, 3, 1, 0))


# ---- errors name what is wrong ------------------------------------------------------


def test_missing_tensor_is_named(arrays):
  name = "blocks.2.flows.1.coupling.net.4.scale"
  with pytest.raises(ValueError, match=f"has no tensor '{name}'"):
    convert_port({k: v for k, v in arrays.items() if k != name})


def test_extra_tensor_is_named(arrays):
  with pytest.raises(ValueError, match="'blocks.2.flows.2.actnorm.loc'"):
    convert_port(_with(arrays, **{"blocks.2.flows.2.actnorm.loc": np.zeros((1, 48, 1, 1))}))


@pytest.mark.parametrize("name,shape", [
    ("blocks.0.flows.0.coupling.net.0.weight", (32, 6, 1, 1)),
    ("blocks.1.prior.scale", (24,)),
    ("blocks.2.flows.1.invconv.w_s", (47,))])
def test_misshapen_tensor_is_named(arrays, name, shape):
  with pytest.raises(ValueError, match=f"tensor '{name}' has shape"):
    convert_port(_with(arrays, **{name: np.zeros(shape, np.float32)}))


@pytest.mark.parametrize("field,value", [
    ("conv1x1", "lu"), ("conv1x1", "plain"), ("edge_padding", True), ("net_actnorm", True),
    ("top_zeros", 2), ("zero_conv_pad", 0.0), ("learn_top", False)])
def test_a_config_without_the_port_switches_is_refused(arrays, field, value):
  with pytest.raises(ValueError, match=rf"config.model.{field}=.*glow_cifar10.py:port"):
    convert_port(arrays, port_config(**{field: value}))


def test_a_config_of_another_size_names_the_first_tensor_that_differs(arrays):
  with pytest.raises(ValueError, match="coupling.net.0.weight' has shape"):
    convert_port(arrays, port_config(width=16))
  with pytest.raises(ValueError, match="has no tensor 'blocks.0.flows.2"):
    convert_port(arrays, port_config(steps_per_level=3))


@pytest.mark.parametrize("name,value,message", [
    ("blocks.0.flows.1.actnorm.scale", -1.0, "actnorm.scale: 1 of its 12 entries are not positive"),
    ("blocks.0.flows.1.actnorm.initialized", 0, "actnorm.initialized is 0"),
    ("blocks.1.flows.0.invconv.l_mask", 1.0, "'blocks.1.flows.0.invconv.l_mask' is a constant"),
    ("blocks.1.flows.0.invconv.w_p", 2.0, "invconv.w_p is not a permutation"),
    ("blocks.1.flows.0.invconv.s_sign", 0.5, "invconv.s_sign holds values")])
def test_a_value_flowzoo_cannot_represent_is_named(arrays, name, value, message):
  changed = np.array(arrays[name])
  changed.flat[0] = value  # (l_mask is stored in Fortran order: no reshape view)
  with pytest.raises(ValueError, match=message):
    convert_port(_with(arrays, **{name: changed}))
