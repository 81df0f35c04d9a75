"""TarFlow against the release: parameter counts, config checks, noise, labels, guidance.

Parity with the release's outputs is tests/test_convert_tarflow.py's; the bijector
properties (round trips, ldj against the dense Jacobian) of a flow and of the whole
model run in the property suite through tests/cases_tarflow.py.
"""
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flowzoo import config as fconfig
from flowzoo import models, provenance
from flowzoo.models import tarflow
from flowzoo.models.base import bits_per_dim

CONFIGS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "configs")
RNGS = {"params": jax.random.key(0), "dequant": jax.random.key(1), "sample": jax.random.key(2)}


def _load(spec):
  return fconfig.load_config(os.path.join(CONFIGS, spec))


def _per_flow(c, img, p, ch, k, classes):
  """Trainable parameters of one flow, counted by hand (MetaBlock, l.136-151)."""
  t, d = (img // p) ** 2, c * p * p
  return (d * ch + ch) + t * ch + classes * ch + k * (12 * ch**2 + 13 * ch) + (ch * 2 * d + 2 * d)


def _small(**fields):
  return tarflow.TarFlow(shape=(32, 32, 3), **fields)


# The table: (config or model, count, (channels, image side, patch, width, flows,
# layers per flow, classes)).
PARAMETER_TABLE = [
    ("tarflow_imagenet64.py", 460_142_784, (3, 64, 2, 768, 8, 8, 0)),
    ("tarflow_imagenet64.py:generation", 466_286_784, (3, 64, 2, 768, 8, 8, 1000)),
    ("tarflow_imagenet128.py", 823_927_552, (3, 128, 4, 1024, 8, 8, 1000)),
    ("tarflow_afhq256.py", 463_481_856, (3, 256, 8, 768, 8, 8, 3)),
    ("tarflow_quickstart.py", 1_693_568, (3, 32, 4, 128, 4, 2, 0)),
    ("32x32, 2-256-4-4", 12_936_288, (3, 32, 2, 256, 4, 4, 0)),
]


@pytest.mark.parametrize("spec,count,sizes", PARAMETER_TABLE, ids=[t[0] for t in PARAMETER_TABLE])
def test_parameter_counts_of_the_release(spec, count, sizes):
  c, img, p, ch, flows, k, classes = sizes
  assert flows * _per_flow(c, img, p, ch, k, classes) == count
  if spec.endswith((".py", ":generation")):
    config = _load(spec)
    model, shape = models.build_model(config), tuple(config.data.shape)
  else:
    model = _small(patch_size=p, width=ch, num_flows=flows, layers_per_flow=k)
    shape = (img, img, c)
  assert shape == (img, img, c)
  assert models.count_params(models.abstract_variables(model, shape, batch=1)) == count


def test_the_configs_name_their_data_and_noise():
  likelihood, generation = _load("tarflow_imagenet64.py"), _load("tarflow_imagenet64.py:generation")
  # The release's 2.99 bpd is on van den Oord's downsampled ImageNet, not imagenet_resized.
  assert likelihood.data.name == "downsampled_imagenet/64x64"
  assert (likelihood.model.noise, likelihood.model.num_classes) == ("uniform", 0)
  assert (generation.model.noise, generation.model.noise_std) == ("gaussian", 0.05)
  assert generation.data.labels and generation.data.name == "imagenet2012"
  assert _load("tarflow_imagenet128.py").model.noise_std == 0.15
  afhq = _load("tarflow_afhq256.py")
  assert (afhq.model.noise_std, afhq.model.num_classes, afhq.data.labels) == (0.07, 3, True)
  for spec in ("tarflow_imagenet64.py", "tarflow_imagenet128.py", "tarflow_afhq256.py"):
    train = _load(spec).train
    assert (train.optimizer, train.lr, train.b2, train.weight_decay, train.grad_clip) == (
        "adamw", 1e-4, 0.95, 1e-4, 0.0)
  with pytest.raises(ValueError, match="no option 'bpd'.*generation=False"):
    _load("tarflow_imagenet64.py:bpd")


def _validate(shape, **changes):
  config = fconfig.base_config("tarflow")
  config.data.shape = shape
  config.model.update(changes)
  models.validate(config)


@pytest.mark.parametrize("changes,shape,match", [
    (dict(patch_size=3), (32, 32, 3), r"config\.model\.patch_size=3 does not divide"),
    (dict(patch_size=32), (32, 32, 3), r"config\.model\.patch_size=32 leaves one token"),
    (dict(num_flows=0), (32, 32, 3), r"config\.model\.num_flows=0 must be an integer >= 1"),
    (dict(num_bits=9), (32, 32, 3), r"config\.model\.num_bits=9 .*8-bit"),
    (dict(width=96), (32, 32, 3), r"config\.model\.width=96 is not a multiple of "
                                  r"config\.model\.head_dim=64"),
    (dict(num_classes=-1), (32, 32, 3), r"config\.model\.num_classes=-1"),
    (dict(noise="logistic"), (32, 32, 3), r"config\.model\.noise='logistic'"),
    (dict(noise="gaussian", noise_std=0.0), (32, 32, 3), r"config\.model\.noise_std=0\.0"),
])
def test_validate_names_the_field_and_the_fix(changes, shape, match):
  with pytest.raises(ValueError, match=match):
    _validate(shape, **changes)


TINY = dict(shape=(8, 8, 3), patch_size=4, width=16, num_flows=2, layers_per_flow=1,
            head_dim=8, backprop="store")
D = 8 * 8 * 3


def _images(n=4, seed=3):
  return jax.random.randint(jax.random.key(seed), (n, 8, 8, 3), 0, 256).astype(jnp.uint8)


def _log_density(model, variables, x, labels=None):
  """log p(x) of continuous images x: the prior's density of z plus the flow's ldj."""
  z, ldj = model.apply(variables, x, labels=labels, method="forward")
  return model.apply(variables, z, method=lambda m, z: m.prior.log_prob(z)) + ldj


def _initialised(model):
  return jax.jit(lambda x: model.init(RNGS, x, method="log_prob"))(_images())


@pytest.fixture(scope="module")
def gaussian():
  model = tarflow.TarFlow(**TINY, num_classes=3, noise="gaussian", noise_std=0.1)
  return model, _initialised(model)


@pytest.fixture(scope="module")
def uniform():
  model = tarflow.TarFlow(**TINY)
  return model, _initialised(model)


def test_a_fresh_tarflow_is_not_the_identity(gaussian):
  """Only the head's kernel starts at zero (transformer_flow.py:149), not its bias."""
  model, variables = gaussian
  head = variables["params"]["flow"]["flows"]["flow"]["net"]["proj_out"]
  assert not np.any(head["kernel"]) and np.all(np.abs(head["bias"]) <= 1 / np.sqrt(16))
  assert np.std(head["bias"]) > 0.05
  x = jax.random.normal(jax.random.key(4), (3, 8, 8, 3))

  @jax.jit
  def run(x):
    forward = lambda labels: model.apply(variables, x, labels=labels, method="forward")
    return forward(None), forward(jnp.array([0, 1, 2]))[0], forward(-jnp.ones(3, int))[0]

  (z, ldj), by_class, dropped = run(x)
  tokens = x.reshape(3, 2, 4, 2, 4, 3).transpose(0, 1, 3, 5, 2, 4).reshape(3, 4, 48)
  assert float(jnp.max(jnp.abs(z - tokens))) > 0.1 and np.all(ldj != 0)
  # Labels pick class embeddings; "no label" (< 0) is their mean, as labels=None.
  assert np.max(np.abs(by_class[0] - by_class[1])) > 1e-3
  np.testing.assert_allclose(dropped, z, rtol=1e-6, atol=1e-6)


def test_gaussian_noise_is_no_dequantization(gaussian):
  """log_prob of a Gaussian-noise model is the density of the noisy image on the scale of
  one 8-bit step, and the record calls it gaussian(sigma), never a uniform bound."""
  model, variables = gaussian
  images = _images()
  eps = jax.random.normal(jax.random.key(5), images.shape)
  # Within half a level of 2k/255 - 1: quantizing rounds back to k.
  near = images / 127.5 - 1 + 0.49 / 127.5 * jax.random.uniform(
      jax.random.key(6), images.shape, minval=-1, maxval=1)

  @jax.jit
  def run(eps, near):
    log_prob = model.apply({**variables, "draws": {"dequantizer": {"eps": eps}}}, images,
                           method="log_prob")
    density = _log_density(model, variables, images / 127.5 - 1 + 0.1 * eps)
    return log_prob, density, model.apply(variables, near, method="quantize")

  log_prob, density, quantized = run(eps, near)
  np.testing.assert_allclose(log_prob, density + D * np.log(2 / 255), rtol=1e-6)
  np.testing.assert_array_equal(quantized, images)
  assert provenance.dequantization(model) == "gaussian(sigma=0.1)"
  assert provenance.dequantization(tarflow.TarFlow(**TINY)) == "uniform"


def test_sample_denoises_after_gaussian_training(gaussian):
  model, variables = gaussian
  labels = jnp.array([0, 2, -1, 1])
  eps = jax.random.normal(jax.random.key(7), (4, 4, 48))
  given = {**variables, "draws": {"prior": {"eps": eps}}}

  @jax.jit
  def run(given):
    x = model.apply(given, 4, labels=labels, denoise=False, method="generate")
    return dict(x=x, sample=model.apply(given, 4, labels=labels, method="sample"),
                score=jax.vmap(jax.grad(lambda x, y: _log_density(
                    model, variables, x[None], labels=y[None])[0]))(x, labels))

  out = run(given)
  # One step x + sigma^2 grad log p(x) per image (the batch does not mix), then rounding.
  denoised = out["x"] + 0.1**2 * out["score"]
  assert np.max(np.abs(denoised - out["x"])) > 2 / 255
  np.testing.assert_array_equal(out["sample"], np.clip(np.round(
      (np.asarray(denoised) + 1) * 127.5), 0, 255).astype(np.uint8))


def test_labels_for_a_model_without_classes_are_refused(uniform):
  model, variables = uniform
  with pytest.raises(ValueError, match="not class-conditional: config.model.num_classes"):
    jax.eval_shape(lambda x: model.apply(variables, x, labels=jnp.zeros(4, jnp.int32),
                                         method="forward"), jnp.zeros((4, 8, 8, 3)))


def test_guidance_without_classes_needs_another_attention_temperature(uniform):
  """Both passes of an unconditional model differ only in attention temperature."""
  model, variables = uniform
  # Perturbed: at initialisation the head's zero kernel hides what attention computes.
  noise = np.random.RandomState(0)
  variables = jax.tree.map(lambda a: a + 0.05 * noise.standard_normal(a.shape), variables)
  z = jax.random.normal(jax.random.key(9), (2, 4, 48))

  @jax.jit
  def run(z):
    plain = model.apply(variables, z, method="inverse")[0]
    guided = jax.vmap(lambda t: model.apply(variables, z, guidance=2.0, attn_temp=t,
                                            annealed_guidance=True, method="inverse")[0])
    return plain, guided(jnp.array([1.0, 0.5]))

  plain, (same, other) = run(z)
  np.testing.assert_allclose(same, plain, rtol=1e-6, atol=1e-6)
  assert np.max(np.abs(other - plain)) > 1e-4


def test_denoising_needs_sigma_after_uniform_training(uniform):
  model, variables = uniform
  with pytest.raises(ValueError, match="config.model.noise='uniform'; pass sigma"):
    jax.eval_shape(lambda x: model.apply(variables, x, method="denoise"),
                   jnp.zeros((1, 8, 8, 3)))


def test_uniform_bpd_is_the_releases(uniform):
  """bpd = (-sum log N(z)/D - logdet + ln 128) / ln 2 (evaluate_bpd.py:12-15, 71-74)."""
  model, variables = uniform
  images = _images()
  u = jax.random.uniform(jax.random.key(10), images.shape)

  @jax.jit
  def run(u):
    log_prob = model.apply({**variables, "draws": {"dequantizer": {"u": u}}}, images,
                           method="log_prob")
    return log_prob, model.apply(variables, (images + u) / 128 - 1, method="forward")

  log_prob, (z, ldj) = run(u)
  nll = 0.5 * jnp.sum(z**2 + np.log(2 * np.pi), axis=(1, 2)) / D - ldj / D + np.log(128)
  np.testing.assert_allclose(bits_per_dim(log_prob, (8, 8, 3)), nll / np.log(2), rtol=1e-6)
