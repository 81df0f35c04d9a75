"""FID: the Frechet distance against scipy, the Inception network with random weights
(the release cannot be downloaded here) and its properties, the weights file, and
the measurement a record carries."""
import hashlib

import jax
import ml_collections
import numpy as np
import pytest
import scipy.linalg
from scipy import ndimage

import flowzoo
from flowzoo import config as config_lib, data, fid, inception, models
from tests.commands import CONFIGS

SIZE = 75  # Inception's smallest input: the properties hold at any size, 299 is slow here


def scipy_fid(mu1, sigma1, mu2, sigma2):
  """The formula as written (Heusel et al. 2017, eq. 6), with scipy's matrix square root."""
  root = scipy.linalg.sqrtm(sigma1 @ sigma2)
  return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2)
               - 2 * np.trace(root).real)


def test_frechet_distance_equals_a_direct_scipy_computation():
  rng = np.random.default_rng(0)
  d = 24
  real = rng.normal(size=(300, d))
  fake = rng.normal(size=(200, d)) @ rng.normal(size=(d, d)) * 0.5 + 0.3
  (mu1, s1), (mu2, s2) = fid.statistics(real), fid.statistics(fake)
  want = scipy_fid(mu1, s1, mu2, s2)
  assert want > 1
  assert fid.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(want, rel=1e-9)
  assert fid.frechet_distance(mu2, s2, mu1, s1) == pytest.approx(want, rel=1e-9)
  assert fid.fid_of_activations(fake, mu1, s1) == pytest.approx(want, rel=1e-9)
  # Fewer samples than features: a singular covariance, the N x N route.
  few = fake[:16]
  want = scipy_fid(mu1, s1, *fid.statistics(few))
  assert fid.fid_of_activations(few, mu1, s1) == pytest.approx(want, rel=1e-6)
  assert fid.frechet_distance(*fid.statistics(few), mu1, s1) == pytest.approx(want, rel=1e-6)


def shapes_images(n, seed):
  """Smooth colour gradients with discs: uint8 [n, 32, 32, 3]."""
  rng = np.random.default_rng(seed)
  yy, xx = np.mgrid[0:32, 0:32] / 31.0
  out = []
  for _ in range(n):
    angle = rng.uniform(0, 2 * np.pi)
    g = (np.cos(angle) * xx + np.sin(angle) * yy)[..., None]
    image = rng.uniform(0, 255, 3) * (1 - g) + rng.uniform(0, 255, 3) * g
    for _ in range(3):
      cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.1, 0.3)
      image = np.where(((xx - cx) ** 2 + (yy - cy) ** 2 < r * r)[..., None],
                       rng.uniform(0, 255, 3), image)
    out.append(image)
  return np.clip(np.stack(out), 0, 255).astype(np.uint8)


def blurred(images, sigma):
  return np.clip(np.round(ndimage.gaussian_filter(images.astype(float), (0, sigma, sigma, 0))),
                 0, 255).astype(np.uint8)


def noised(images, std):
  noise = np.random.default_rng(1).normal(0.0, std, images.shape)
  return np.clip(np.round(images + noise), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def random_inception():
  return inception.random_variables(seed=0)


def test_fid_is_zero_for_a_set_with_itself_and_grows_with_blur_and_noise(random_inception):
  images = shapes_images(48, seed=0)
  acts = lambda x: np.asarray(inception.features(random_inception, x, SIZE))  # one shape
  real = acts(images)
  assert real.shape == (48, inception.FEATURES) and np.isfinite(real).all()
  mu, sigma = fid.statistics(real)
  scale = fid.fid_of_activations(acts(shapes_images(48, seed=1)), mu, sigma)
  assert scale > 0
  assert abs(fid.fid_of_activations(real, mu, sigma)) < 1e-6 * scale  # float32 features
  blurs = [fid.fid_of_activations(acts(blurred(images, s)), mu, sigma) for s in (0.5, 1, 2, 4)]
  assert 0 < blurs[0] and all(a < b for a, b in zip(blurs, blurs[1:])), blurs
  noises = [fid.fid_of_activations(acts(noised(images, s)), mu, sigma) for s in (4, 16, 48)]
  assert 0 < noises[0] and all(a < b for a, b in zip(noises, noises[1:])), noises


def test_grey_images_are_seen_as_rgb(random_inception):
  grey = shapes_images(2, seed=3)[..., :1]
  as_rgb = np.repeat(grey, 3, axis=-1)
  np.testing.assert_array_equal(inception.preprocess(grey, SIZE),
                                inception.preprocess(as_rgb, SIZE))
  x = inception.preprocess(as_rgb, SIZE)
  assert x.shape == (2, SIZE, SIZE, 3) and -1 <= float(x.min()) and float(x.max()) <= 1


def write_weights(path, variables, **extra):
  tensors = inception.state_dict(variables)
  # As pytorch-fid's release: the 1008-way classifier and BatchNorm counters too.
  tensors.update({"fc.weight": np.zeros((1008, 2048), np.float32),
                  "fc.bias": np.zeros(1008, np.float32),
                  "Mixed_5b.branch1x1.bn.num_batches_tracked": np.array(0)})
  tensors.update(extra)
  np.savez(path, **{k: v for k, v in tensors.items() if v is not None})
  return path


def test_weights_are_read_by_their_torch_names(tmp_path, random_inception):
  path = write_weights(tmp_path / "inception.npz", random_inception)
  variables, identity = inception.load_variables(path)
  jax.tree.map(np.testing.assert_array_equal, variables, random_inception)
  assert identity == {"file": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                      "standard": False}
  conv = "Mixed_7c.branch_pool.conv.weight"
  assert inception.state_dict(random_inception)[conv].shape == (192, 2048, 1, 1)  # OIHW
  for bad, message in (({conv: None}, f"no tensor '{conv}'"),
                       ({conv: np.zeros((192, 2048, 3, 3))}, f"tensor '{conv}' has shape"),
                       ({"Mixed_8a.conv.weight": np.zeros(3)}, "Mixed_8a")):
    with pytest.raises(ValueError, match=message):
      inception.load_variables(write_weights(tmp_path / "bad.npz", random_inception, **bad))


@pytest.fixture(scope="module")
def tiny(shapes_data_dir, tmp_path_factory, random_inception):
  """A small model, its initial variables, and a config measuring FID with random weights."""
  config = flowzoo.load_config(f"{CONFIGS}/mixerflow_quickstart.py")
  config.model.update(num_layers=1, hidden=8, flow_layers=2, shift=0)
  config.data.data_dir = shapes_data_dir
  config.data.eval_split = "test[:40]"
  root = tmp_path_factory.mktemp("fid")
  config.eval.update(fid_weights=str(write_weights(root / "inception.npz", random_inception)),
                     fid_samples=12, fid_temperature=0.9, fid_batch_size=8,
                     fid_image_size=SIZE, fid_reference=str(root / "reference.npz"))
  model = models.build_model(config)
  ds = data.get_datasets(config.data, global_batch_size=8, eval_batch_size=8, seed=0)
  variables = models.init_model(model, jax.random.PRNGKey(0), next(iter(ds.train(0))))
  return config, model, variables


def test_measure_records_n_temperature_weights_and_reference(tiny, monkeypatch):
  config, model, variables = tiny
  config_lib.validate(config)
  measured = fid.measure(model, variables, config, jax.random.PRNGKey(1))
  assert measured["value"] > 0 and np.isfinite(measured["value"])
  assert (measured["samples"], measured["temperature"], measured["image_size"]) == (12, 0.9, SIZE)
  weights = config.eval.fid_weights
  assert measured["weights"]["sha256"] == inception.sha256(weights)
  assert measured["standard"] is False  # random weights, 75 pixels
  assert measured["reference"] == {"dataset": "flowzoo_shapes/rgb", "dataset_version": "1.0.0",
                                   "split": "test[:40]", "images": 40,
                                   "file": config.eval.fid_reference}
  # The statistics are read back, not recomputed; the same samples give the same FID.
  monkeypatch.setattr(data, "get_datasets", lambda *a, **k: pytest.fail("recomputed"))
  again = fid.measure(model, variables, config, jax.random.PRNGKey(1))
  assert again["value"] == pytest.approx(measured["value"], rel=1e-9)
  # Statistics of other weights, data or size are refused, naming the field.
  other = config_lib.with_defaults(config)
  other.data.eval_split = "test[:20]"
  with pytest.raises(ValueError, match=r"eval\.fid_reference.*split="):
    fid.measure(model, variables, other, jax.random.PRNGKey(1))


def test_fid_fields_are_checked_before_anything_runs(tiny):
  config = config_lib.with_defaults(tiny[0])
  config.eval.fid_weights = "/nonexistent/pt_inception.pth"
  with pytest.raises(ValueError, match=r"config\.eval\.fid_weights=.*no such file"):
    config_lib.validate(config)
  config = config_lib.with_defaults(tiny[0])
  config.eval.fid_image_size = 64
  with pytest.raises(ValueError, match=r"config\.eval\.fid_image_size"):
    config_lib.validate(config)
  config = config_lib.with_defaults(tiny[0])
  config.eval.fid_samples = 1
  with pytest.raises(ValueError, match=r"config\.eval\.fid_samples"):
    config_lib.validate(config)


def test_an_old_runs_config_gets_the_new_fields_but_keeps_its_model():
  saved = flowzoo.load_config(f"{CONFIGS}/mixerflow_quickstart.py").to_dict()
  for key in [k for k in saved["eval"] if k.startswith("fid_")]:
    del saved["eval"][key]
  saved["model"]["hidden"] = 8
  del saved["model"]["shift"]  # a model field the run predates stays absent
  config = config_lib.with_defaults(ml_collections.ConfigDict(saved))
  assert config.eval.fid_weights == "" and config.eval.fid_samples == 50_000
  assert config.model.hidden == 8 and "shift" not in config.model
