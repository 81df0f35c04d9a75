"""Class-conditional training through the one trainer: labels from the data, label
dropout, the evaluator and the sampler, on a tiny class-conditional TarFlow."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flowzoo import data, evaluate, models, optim, sampling, train
from flowzoo.config import load_config, validate
from flowzoo.models.base import bits_per_dim
from tests import commands

CONFIG = "configs/tarflow_quickstart.py:conditional"
TINY = dict(width=32, num_flows=2, layers_per_flow=1, head_dim=16, patch_size=8)


def tiny_config(data_dir=None):
  config = load_config(str(commands.REPO / CONFIG))
  config.model.update(TINY)
  config.data.data_dir = data_dir
  config.train.update(batch_size=8, steps=2, warmup_steps=0)
  config.eval.batch_size = 16
  return config


@pytest.fixture(scope="module")
def setup(shapes_data_dir):
  config = tiny_config(shapes_data_dir)
  ds = data.get_datasets(config.data, global_batch_size=8, eval_batch_size=16, seed=0,
                         process_index=0, process_count=1)
  model = models.build_model(config)
  images, labels = next(ds.train(0))
  tx = optim.make(config.train)
  state = train.create_state(model, tx, jax.random.PRNGKey(0), jnp.asarray(images))
  # At initialisation the head's kernel is zero, so no label could matter yet: move
  # every parameter off its initial value, as a trained model's are.
  leaves, tree = jax.tree.flatten(state.params)
  keys = jax.random.split(jax.random.PRNGKey(5), len(leaves))
  state = state.replace(params=jax.tree.unflatten(tree, [
      x + 0.05 * jax.random.normal(k, x.shape, x.dtype) for x, k in zip(leaves, keys)]))
  return config, ds, model, tx, state, (jnp.asarray(images), jnp.asarray(labels))


def test_the_data_gives_labels_the_model_uses(setup):
  _, _, model, _, state, (images, labels) = setup
  assert labels.shape == (8,) and set(np.asarray(labels)) <= set(range(5))
  log_p = lambda y: model.apply(state.variables, images, labels=y, method="log_prob",
                                rngs=models.rngs(jax.random.PRNGKey(1)))
  # The class embedding enters the bound: other labels (or none) give other numbers.
  assert np.min(np.abs(log_p(labels) - log_p((labels + 1) % 5))) > 1e-2
  assert np.min(np.abs(log_p(labels) - log_p(jnp.full_like(labels, -1)))) > 1e-2


def test_label_dropout_replaces_labels_by_no_label(setup):
  _, _, model, tx, state, (images, labels) = setup
  mesh = train.make_mesh(jax.devices()[:1])
  metrics = {}
  for name, p, y in (("dropped", 0.999, labels), ("none", 0.0, jnp.full_like(labels, -1)),
                     ("kept", 0.0, labels)):
    step = train.compile_train_step(model, tx, (32, 32, 3), mesh, label_dropout=p)
    _, metrics[name] = step(jax.tree.map(jnp.copy, state), (images, y))
  # With p = 0.999 every one of the 8 labels of this step's draw is dropped: the
  # loss is that of labels -1 given outright, and not that of the labels kept.
  assert float(metrics["dropped"]["train_bpd"]) == float(metrics["none"]["train_bpd"])
  assert float(metrics["dropped"]["train_bpd"]) != float(metrics["kept"]["train_bpd"])


def test_the_evaluator_scores_each_image_under_its_label(setup):
  config, ds, model, _, state, _ = setup
  mesh = train.make_mesh(jax.devices()[:1])
  step = evaluate.make_eval_step(model, (32, 32, 3), 1, mesh)
  rng = jax.random.PRNGKey(3)
  batch = next(iter(ds.eval()))
  result = evaluate.evaluate(step, state.variables, [batch], rng, mesh)
  images, mask, labels = batch
  log_p = evaluate.log_likelihood_bound(model, state.variables, jnp.asarray(images),
                                        jax.random.fold_in(rng, 0), 1, jnp.asarray(labels))
  expected = np.mean(np.asarray(bits_per_dim(log_p, (32, 32, 3)))[mask])
  np.testing.assert_allclose(result["bpd"], expected, rtol=1e-6)


def test_samples_cycle_through_the_classes_by_default(setup):
  _, _, model, _, state, _ = setup
  rng = jax.random.PRNGKey(4)
  default = sampling.sample(model, state.variables, 6, 1.0, rng)
  cycled = sampling.sample(model, state.variables, 6, 1.0, rng, labels=np.arange(6) % 5)
  other = sampling.sample(model, state.variables, 6, 1.0, rng, labels=np.zeros(6, int))
  np.testing.assert_array_equal(default, cycled)
  assert not np.array_equal(default, other)


@pytest.mark.parametrize("change, field", [
    (dict(labels=False), "config.model.num_classes=5 and config.data.labels=False"),
    (dict(num_classes=3), "config.model.num_classes=3, but data.name"),
])
def test_a_model_and_data_that_disagree_on_classes_are_refused(shapes_data_dir, tmp_path,
                                                              change, field):
  config = tiny_config(shapes_data_dir)
  if "labels" in change:
    config.data.labels = change["labels"]
  else:
    config.model.num_classes = change["num_classes"]
  with pytest.raises(ValueError, match=field):
    train.check(config, tmp_path / "run")


def test_labels_for_a_backbone_without_classes_are_refused():
  config = load_config(str(commands.REPO / "configs/jet_quickstart.py"))
  config.data.labels = True
  with pytest.raises(ValueError, match=r"has no class conditioning"):
    validate(config)


@pytest.mark.slow
def test_conditional_quickstart_trains_and_samples_guided(shapes_data_dir, tmp_path):
  size = (" --config.train.steps=2 --config.train.batch_size=8 --config.train.warmup_steps=0"
          " --config.checkpoint.every_steps=2 --config.eval.batch_size=64"
          " --config.data.eval_split=test[:64] --config.sample.num=5"
          " --config.leaderboard.dir=board"
          + "".join(f" --config.model.{k}={v}" for k, v in TINY.items()))
  env = {"TFDS_DATA_DIR": shapes_data_dir}
  out = commands.run(f"python -m flowzoo.main --config={commands.REPO / CONFIG}{size} "
                     "--workdir=run", tmp_path, env)
  assert out.returncode == 0, out.stdout + out.stderr
  assert "test bpd" in out.stdout and (tmp_path / "run/samples_2.png").exists()
  out = commands.run("python -m flowzoo.sample --workdir=run --num=4 --labels=1,3 "
                     "--guidance=1.5 --annealed_guidance --temperatures= --out=g.png",
                     tmp_path, env)
  assert out.returncode == 0 and (tmp_path / "g.png").exists(), out.stdout + out.stderr
  out = commands.run("python -m flowzoo.sample --workdir=run --num=4 --labels=7",
                     tmp_path, env)
  assert out.returncode == 1 and "classes lie in 0..4" in out.stderr, out.stderr
