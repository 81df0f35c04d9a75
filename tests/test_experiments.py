"""The papers' comparisons under experiments/: every sweep resolves to valid configs of
the intended models, the backbones meet at equal size, and the linear probe learns."""
import importlib.util
import os

import jax
import numpy as np
import pytest
from absl import flags

import flowzoo
from flowzoo import models, sweep
from flowzoo.models.fields import config_fields
from tests.commands import CONFIGS

EXPERIMENTS = os.path.join(os.path.dirname(__file__), "..", "experiments")


def _plan(name, arg):
  return {n: config for n, _, config, _ in sweep.plan(f"{EXPERIMENTS}/{name}.py:{arg}",
                                                     workdir_root="/nonexistent")}


@pytest.mark.parametrize("name,arg,count", [
    ("backbones", "toy", 4), ("backbones", "paper", 4),
    ("permuted", "toy", 6), ("permuted", "paper", 6), ("permuted", "paper_imagenet32", 6),
    ("mixerflow_ablation", "toy", 5), ("mixerflow_ablation", "paper", 5),
    ("jet_couplings", "toy", 7), ("jet_couplings", "paper", 31),  # Table 10's 25 + Table 2a's 6
    ("denseflow_ablation", "toy", 6), ("denseflow_ablation", "paper", 6),
])
def test_every_member_is_a_valid_config(name, arg, count):
  plan = _plan(name, arg)  # validates every member's config
  assert len(plan) == count
  datasets = {c.data.name for c in plan.values()}
  assert datasets == ({"flowzoo_shapes/rgb"} if arg == "toy" else datasets - {"flowzoo_shapes/rgb"})


def test_toy_backbones_meet_at_equal_size():
  # The paper-scale sizes (11.2M to 11.6M beside MixerFlow's 11,358,342) are counted in
  # experiments/backbones.py's comments; tracing those models takes half a minute.
  sizes = {n: models.count_config_params(c) for n, c in _plan("backbones", "toy").items()}
  assert sizes == {"mixerflow": 104_448, "glow": 100_524, "jet": 103_200, "denseflow": 101_164}


def test_members_switch_what_their_table_row_says():
  permuted = _plan("permuted", "toy")
  assert permuted["glow-global_shuffle"].data.corruption == "global_shuffle"
  assert permuted["glow-global_shuffle"].model.name == "glow"
  assert permuted["mixerflow-local_shuffle"].data.corruption_patch == 4
  ablation = _plan("mixerflow_ablation", "paper")
  assert (ablation["basic"].model.linear, ablation["basic"].model.shift) == ("none", 0)
  assert ablation["more_layers"].model.num_layers == 60  # Table 10
  assert (ablation["shift_layers"].model.linear, ablation["shift_layers"].model.shift) == ("none", 1)
  assert ablation["full"].model.to_dict() == flowzoo.load_config(
      f"{EXPERIMENTS}/backbones.py:paper,mixerflow").model.to_dict()
  jet = _plan("jet_couplings", "paper")
  assert tuple(jet["4to1-mix-pairing"].model.kinds) == ("channels",) * 4 + ("spatial",)
  assert tuple(jet["2to1-rows-pairing"].model.spatial_patterns) == ("hstripes", "hstripes-inv")
  assert jet["all_spatial-mix-masking"].model.mode == "masking"
  assert jet["all_spatial-mix-masking"].model.num_couplings == 32  # the ablation model (3.2)
  for scale in ("toy", "paper"):
    rows = _plan("denseflow_ablation", scale)
    for row in range(1, 7):
      paper = flowzoo.load_config(f"{CONFIGS}/denseflow_45_6.py:{row}").model
      got = rows[f"row{row}"].model
      assert (got.augmentation, got.conditioned_noise, got.coupling_net) == (
          paper.augmentation, paper.conditioned_noise, paper.coupling_net)


def test_bad_argument_names_the_choices():
  with pytest.raises(ValueError, match="SCALE"):
    flowzoo.load_config(f"{EXPERIMENTS}/backbones.py:huge")
  with pytest.raises(ValueError, match="row of Table 4"):
    flowzoo.load_config(f"{EXPERIMENTS}/denseflow_ablation.py:toy,7")


def _script(name):
  """experiments/<name>.py as a module. Its absl flags are unregistered again, so that
  scripts sharing flag names (--steps, --batch_size) load side by side; the tests call
  their functions, never their flags."""
  before = set(flags.FLAGS)
  spec = importlib.util.spec_from_file_location(name, f"{EXPERIMENTS}/{name}.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  for flag in set(flags.FLAGS) - before:
    delattr(flags.FLAGS, flag)
  return module


@pytest.fixture(scope="module")
def linear_probe():
  return _script("linear_probe")


def test_linear_probe_separates_linearly_separable_latents(linear_probe):
  rng = np.random.default_rng(0)
  means = rng.normal(size=(3, 20)) * 3
  def draw(n):
    y = rng.integers(0, 3, n)
    return (means[y] + rng.normal(size=(n, 20))).astype(np.float32), y
  (train_z, train_y), (test_z, test_y) = draw(600), draw(300)
  loss, acc, _ = linear_probe.train_probe(train_z, train_y, test_z, test_y, num_classes=3,
                                          steps=300, batch=64, lr=1e-2, rng=jax.random.PRNGKey(0))
  assert acc > 0.95 and loss < 0.2
  # Labels independent of the latents: no better than chance on the test set.
  loss, acc, train_acc = linear_probe.train_probe(
      train_z, rng.integers(0, 3, 600), test_z, rng.integers(0, 3, 300), num_classes=3,
      steps=300, batch=64, lr=1e-2, rng=jax.random.PRNGKey(0))
  assert acc < 0.45 and loss > np.log(3) - 0.05


def test_linear_probe_scores_the_classifier_before_it_overfits(linear_probe):
  """More features than images and labels that are noise: trained to the end, the
  classifier's test loss would climb far above chance; the held-out check keeps it near."""
  rng = np.random.default_rng(1)
  z = rng.normal(size=(700, 400)).astype(np.float32)
  y = rng.integers(0, 3, 700)
  loss, _, train_acc = linear_probe.train_probe(
      z[:400], y[:400], z[400:], y[400:], num_classes=3, steps=1000, batch=64, lr=1e-2,
      rng=jax.random.PRNGKey(0))
  assert loss < np.log(3) + 0.1


def test_probe_features_are_the_flattened_latents_of_encode(linear_probe):
  """Every level of Glow's latent, each batch with its own noise: what the probe computed
  before the backbones had encode (the dequantizer, then the flow)."""
  from flowzoo.models import glow  # pylint: disable=g-import-not-at-top
  model = glow.Glow(shape=(8, 8, 3), levels=2, steps_per_level=1, width=8)
  images = np.asarray(jax.random.randint(jax.random.PRNGKey(0), (5, 8, 8, 3), 0, 256), np.uint8)
  variables = models.init_model(model, jax.random.PRNGKey(1), images)
  rng = jax.random.PRNGKey(2)
  features = linear_probe.embed(model, variables, images, 3, rng)
  assert features.shape == (5, 8 * 8 * 3)

  def before(m, x):
    z, _ = m.forward(m.dequantizer(x)[0])
    return np.concatenate([np.reshape(l, (len(x), -1)) for l in jax.tree.leaves(z)], axis=1)

  for i in (0, 3):
    z = model.apply(variables, images[i:i + 3], method=before,
                    rngs=models.rngs(jax.random.fold_in(rng, i)))
    np.testing.assert_allclose(features[i:i + 3], z, rtol=1e-6, atol=1e-6)
  assert not np.allclose(features[:1], model.apply(
      variables, images[:1], method=before, rngs=models.rngs(jax.random.fold_in(rng, 1))))


@pytest.fixture(scope="module")
def benchmark():
  return _script("benchmark")


def test_benchmark_depth_field_is_a_field_of_every_backbone(benchmark):
  assert set(benchmark.DEPTH_FIELDS) == set(models.names())
  for name, key in benchmark.DEPTH_FIELDS.items():
    assert key in config_fields(models.backbone(name)), (name, key)
  dense = benchmark.configured(flowzoo.load_config(f"{CONFIGS}/denseflow_quickstart.py"),
                               depth=3)
  assert tuple(dense.model.modules) == (3,) * len(dense.model.units)  # every block


def test_benchmark_refuses_backprop_for_a_backbone_without_it(benchmark):
  with pytest.raises(ValueError, match=r"maf backbone has no config.model.backprop"):
    benchmark.configured(flowzoo.load_config(f"{CONFIGS}/maf_mnist.py"), "invertible")
  config = benchmark.configured(flowzoo.load_config(f"{CONFIGS}/mixerflow_quickstart.py"),
                                "invertible", depth=6)
  assert (config.model.backprop, config.model.num_layers) == ("invertible", 6)
