"""The trainer: resumption, data parallelism, non-finite steps, evaluation, checks."""
import subprocess
import sys

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from PIL import Image

import flowzoo
from flowzoo import data, models, optim, sampling, train
from tests.commands import CONFIGS

STEPS = 4


def tiny_config(data_dir, **model):
  config = flowzoo.load_config(f"{CONFIGS}/mixerflow_quickstart.py")
  config.model.update(num_layers=1, hidden=8, flow_layers=2, shift=0, **model)
  config.data.data_dir = str(data_dir)
  config.train.update(batch_size=16, steps=STEPS, warmup_steps=1, log_every=2)
  config.eval.batch_size = 48  # 2000 test images: the last batch is padded
  config.checkpoint.every_steps = 2
  config.sample.num = 4
  config.leaderboard.dir = ""
  return config


@pytest.fixture(scope="module")
def data_dir(shapes_data_dir):
  return shapes_data_dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory, data_dir):
  """One uninterrupted run, and one stopped after 2 steps then resumed."""
  root = tmp_path_factory.mktemp("runs")
  config = tiny_config(data_dir)
  whole = train.train_and_evaluate(config, root / "whole")
  train.train_and_evaluate(config, root / "resumed", stop_after_steps=2)
  resumed = train.train_and_evaluate(config, root / "resumed")
  return root, config, whole, resumed


@pytest.mark.slow
def test_resumed_run_equals_uninterrupted_run(runs):
  root, _, whole, resumed = runs
  _, a, _ = flowzoo.load(root / "whole")
  _, b, _ = flowzoo.load(root / "resumed")
  jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7), a, b)
  assert whole["bpd"] == pytest.approx(resumed["bpd"], abs=1e-5)
  # The runs trained: the parameters moved from their initial values.
  _, first, _ = flowzoo.load(root / "resumed", step=2)
  assert not np.allclose(first["params"]["flow"]["layers_0"]["lu"],
                         a["params"]["flow"]["layers_0"]["lu"])


@pytest.mark.slow
def test_evaluation_counts_every_test_image_once(runs):
  root, config, whole, _ = runs
  ds = data.get_datasets(config.data, global_batch_size=16, eval_batch_size=48, seed=0)
  assert ds.num_eval % 48 != 0
  assert whole["count"] == ds.num_eval == 2000


@pytest.mark.slow
def test_sample_command_writes_grid_from_checkpoint(runs, tmp_path):
  root = runs[0]
  out = tmp_path / "grid.png"
  subprocess.run([sys.executable, "-m", "flowzoo.sample", f"--workdir={root / 'whole'}",
                  "--num=6", "--temperature=0.5", f"--out={out}", "--rows=2"],
                 check=True, capture_output=True)
  grid = np.asarray(Image.open(out))
  assert grid.shape == (2 * 33 + 1, 3 * 33 + 1, 3)
  model, variables, config = flowzoo.load(root / "whole")
  images = sampling.sample(model, variables, 5, 0.7, jax.random.PRNGKey(0))
  assert images.shape == (5, 32, 32, 3) and images.dtype == np.uint8


@pytest.mark.slow
def test_workdir_of_another_config_is_refused(runs):
  root, config, _, _ = runs
  other = tiny_config(config.data.data_dir)
  other.model.hidden = 16
  with pytest.raises(ValueError, match=r"config\.model\.hidden"):
    train.train_and_evaluate(other, root / "whole")


@pytest.mark.parametrize("field,value,match", [
    ("model.patch_size", 5, r"config\.model\.patch_size=5 does not divide"),
    ("model.name", "nope", r"config\.model\.name='nope' is not a flowzoo backbone"),
    ("data.name", "no_such_dataset", r"data\.name"),
    ("train.batch_size", 12, r"batch_size=12"),
    ("model.linear", "qr", r"config\.model\.linear"),
])
def test_bad_config_is_refused_before_compilation(data_dir, tmp_path, field, value, match):
  config = tiny_config(data_dir)
  section, name = field.split(".")
  if field == "model.name":
    config.model.name = value  # no other field changes: the registry must say no
  else:
    config[section][name] = value
  with pytest.raises(ValueError, match=match):
    train.train_and_evaluate(config, tmp_path / "run")
  assert not (tmp_path / "run" / "checkpoints").exists()


@pytest.fixture(scope="module")
def step_setup(data_dir):
  config = tiny_config(data_dir)
  model = models.build_model(config)
  tx = optim.make(config.train)
  images = jax.random.randint(jax.random.PRNGKey(3), (16, 32, 32, 3), 0, 256).astype(jnp.uint8)
  state = jax.jit(lambda r, x: train.create_state(model, tx, r, x))(jax.random.PRNGKey(0), images)
  return model, tx, images, state


def test_eight_devices_match_one_device(step_setup):
  model, tx, images, state = step_setup
  assert jax.device_count() == 8
  results = []
  for devices in (jax.devices()[:1], jax.devices()):
    mesh = train.make_mesh(devices)
    step = train.compile_train_step(model, tx, (32, 32, 3), mesh)
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("data"))
    # The step donates its state: give each mesh its own copy.
    placed = jax.device_put(jax.tree.map(jnp.copy, state),
                            jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec()))
    results.append(step(placed, jax.device_put(images, sharding)))
  (one, m1), (eight, m8) = results
  np.testing.assert_allclose(m1["train_bpd"], m8["train_bpd"], rtol=1e-6)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6),
               one.variables, eight.variables)


def test_non_finite_loss_skips_the_update_and_is_counted(step_setup):
  model, tx, images, state = step_setup
  params = jax.tree.map(lambda x: x, state.params)
  params["flow"]["layers_0"]["bias"] = params["flow"]["layers_0"]["bias"].at[0].set(jnp.nan)
  bad = state.replace(params=params)
  before = jax.tree.map(np.asarray, (bad.params, bad.opt_state, bad.model_state))
  step = train.compile_train_step(model, tx, (32, 32, 3), train.make_mesh(jax.devices()[:1]))
  after, metrics = step(jax.tree.map(jnp.copy, bad), images)
  assert not np.isfinite(metrics["train_bpd"])
  assert int(after.step) == 1 and int(after.skipped) == 1
  jax.tree.map(lambda a, b: np.testing.assert_array_equal(a, b),
               (after.params, after.opt_state, after.model_state), before)


def test_a_non_finite_update_is_skipped_even_when_the_loss_is_finite(step_setup):
  model, _, images, state = step_setup
  nan_lr = optim.make(ml_collections.ConfigDict({**tiny_config("").train, "lr": float("nan")}))
  state = state.replace(opt_state=nan_lr.init(state.params))
  step = train.compile_train_step(model, nan_lr, (32, 32, 3), train.make_mesh(jax.devices()[:1]))
  after, metrics = step(jax.tree.map(jnp.copy, state), images)
  assert np.isfinite(metrics["train_bpd"]) and np.isfinite(metrics["grad_norm"])
  assert bool(metrics["skipped"]) and int(after.skipped) == 1
  jax.tree.map(np.testing.assert_array_equal, after.params, state.params)


def test_a_run_whose_updates_keep_being_skipped_stops(data_dir, tmp_path, monkeypatch, capsys):
  config = tiny_config(data_dir)
  config.train.update(steps=10, max_consecutive_skips=3)
  nan_train = ml_collections.ConfigDict({**config.train, "lr": float("nan")})
  monkeypatch.setattr(optim, "make", lambda cfg: original_make(nan_train))
  with pytest.raises(train.Diverged, match="the last 3 updates .* were all skipped"):
    train.train_and_evaluate(config, tmp_path / "run")
  said = capsys.readouterr().out
  for count in (1, 2, 3):
    assert f"step {count}: update skipped" in said and f"{count} skipped so far" in said
  assert not (tmp_path / "run" / "result.json").exists()
  # What was checkpointed is the initial state, untouched by the NaN steps.
  monkeypatch.setattr(optim, "make", original_make)
  _, variables, _ = flowzoo.load(tmp_path / "run", step=2)
  assert all(np.isfinite(x).all() for x in jax.tree.leaves(variables))


original_make = optim.make


def test_decode_inverts_encode_and_a_sample_is_the_decoding_of_a_prior_draw(step_setup):
  model, _, images, state = step_setup
  # Parameters away from the initial near-identity, so that the flow moves the data.
  params = jax.tree.map(lambda p: p + 0.05 * jnp.sin(jnp.arange(p.size).reshape(p.shape)),
                        state.params)
  variables = {**state.variables, "params": params}
  centres = {**variables, "draws": {"dequantizer": {"u": jnp.full(images.shape, 0.5)}}}
  z, ldj, ldj_dequant = model.apply(centres, images, method="encode")
  assert np.min(np.abs(ldj)) > 1e-2
  np.testing.assert_array_equal(model.apply(variables, z, method="decode"), images)
  log_prob = model.apply(centres, images, method="log_prob")
  prior = model.apply(variables, z, method=lambda m, z: m.prior.log_prob(z))
  np.testing.assert_array_equal(log_prob, prior + ldj + ldj_dequant)
  # Op by op (one jitted program may round a pixel at a bin's edge unlike another).
  key = jax.random.PRNGKey(5)
  drawn = model.apply(variables, 4, 0.7, rngs={"sample": key},
                      method=lambda m, n, t: m.prior.sample(n, t))
  samples = model.apply(variables, 4, 0.7, rngs={"sample": key}, method="sample")
  np.testing.assert_array_equal(samples, model.apply(variables, drawn, 0.7, method="decode"))
  assert len(np.unique(samples)) > 10


def test_samples_whose_inverse_overflowed_are_counted_aloud(step_setup, capsys):
  model, _, _, state = step_setup
  rng = jax.random.PRNGKey(0)
  sampling.sample(model, state.variables, 4, 0.7, rng)
  assert "not finite" not in capsys.readouterr().out
  params = jax.tree.map(lambda x: x, state.params)
  params["flow"]["layers_0"]["bias"] = params["flow"]["layers_0"]["bias"].at[0].set(jnp.inf)
  images = sampling.sample(model, {**state.variables, "params": params}, 4, 0.7, rng)
  assert images.shape == (4, 32, 32, 3)
  assert "4 of 4 samples at temperature 0.7 are not finite" in capsys.readouterr().out
