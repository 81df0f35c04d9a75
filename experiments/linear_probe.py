r"""Linear probe on frozen flow embeddings (MixerFlow, arXiv 2310.16777, section 5.5, Table 7).

    python experiments/linear_probe.py --workdir=runs/sweeps/backbones-toy/mixerflow \
        --workdir=runs/sweeps/backbones-toy/glow [--max_train=5000] [--out=probe.json]

For each trained run: its latest checkpoint (flowzoo.load), the latents
z = model.encode(x) of its dataset's train and test images, flattened, and
a linear softmax classifier trained on them with Adam while the flow stays frozen;
prints the test cross-entropy and accuracy per run. Table 7 (CIFAR-10): MixerFlow
1.54 / 45.11%, Glow 1.69 / 41.23%, Neural Spline 1.67 / 41.27%. The dataset must
have a 'label' feature (CIFAR-10 and the embedded flowzoo_shapes, whose labels
are the shape kinds, do); its data corruption, if any, applies as in training.
"""
import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import tensorflow_datasets as tfds
from absl import app, flags

import flowzoo
from flowzoo import console, models
from flowzoo.data import corruptions

_WORKDIRS = flags.DEFINE_multi_string("workdir", None, "Run directory; repeat for several runs.")
_MAX_TRAIN = flags.DEFINE_integer("max_train", 0, "Train images to embed; 0 for all.")
_MAX_TEST = flags.DEFINE_integer("max_test", 0, "Test images to embed; 0 for all.")
_STEPS = flags.DEFINE_integer("steps", 2000, "Adam steps of the classifier.")
_BATCH = flags.DEFINE_integer("batch_size", 256, "Classifier batch size.")
_LR = flags.DEFINE_float("lr", 1e-3, "Classifier learning rate.")
_ENCODE_BATCH = flags.DEFINE_integer("encode_batch", 250, "Images per forward pass.")
_SEED = flags.DEFINE_integer("seed", 0, "Dequantization noise and classifier seed.")
_OUT = flags.DEFINE_string("out", None, "Write the results as JSON here.")
flags.mark_flags_as_required(["workdir"])


def labelled_images(config, split, limit=0):
  """(uint8 images [N, H, W, C], int labels [N]) of a split, corrupted as the run saw them."""
  builder = tfds.builder(config.data.name, data_dir=config.data.data_dir)
  if "label" not in builder.info.features:
    raise ValueError(f"data.name={config.data.name!r} has no 'label' feature to probe.")
  if not builder.is_prepared():
    raise ValueError(f"data.name={config.data.name!r} is not prepared in "
                     f"{builder.data_dir_root}; the run's training prepares it.")
  if limit:
    split = f"{split}[:{limit}]"
  data = tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1))
  images, labels = data["image"], data["label"]
  if images.shape[1:] != tuple(config.data.shape):
    raise ValueError(f"images of {config.data.name!r} are {images.shape[1:]}, the run's "
                     f"data.shape is {tuple(config.data.shape)}: resized data is not probed.")
  perm = corruptions.pixel_permutation(config.data.shape, config.data.corruption,
                                       config.data.corruption_seed, config.data.corruption_patch)
  if perm is not None:
    n, h, w, c = images.shape
    images = images.reshape(n, h * w, c)[:, perm].reshape(n, h, w, c)
  return images, labels.astype(np.int32)


def embed(model, variables, images, batch, rng):
  """float32 [N, D'] latents of uint8 images (model.encode, dequantization noise drawn
  from `rng`), `batch` at a time."""

  def latent(x, key):
    z, *_ = model.apply(variables, x, method="encode", rngs=models.rngs(key))
    # A latent may be a pytree (Glow's factored-out levels): the embedding is all of it.
    return jnp.concatenate([l.reshape(l.shape[0], -1) for l in jax.tree.leaves(z)], axis=1)

  fn = jax.jit(latent)
  out = []
  for i in range(0, len(images), batch):
    out.append(np.asarray(fn(images[i:i + batch], jax.random.fold_in(rng, i))))
  return np.concatenate(out)


def train_probe(train_z, train_y, test_z, test_y, *, num_classes, steps, batch, lr, rng,
                check_every=100):
  """A softmax classifier on standardised features; (test loss, test accuracy, train accuracy).

  With as many features as pixels a linear classifier overfits a few thousand
  images within a few hundred steps, so the last tenth of the train images is held
  out and the classifier of the step with the lowest held-out loss is the one scored.
  """
  mean, std = train_z.mean(0), train_z.std(0) + 1e-6  # an affine map: still a linear probe
  train_z, test_z = (train_z - mean) / std, (test_z - mean) / std
  held = len(train_z) // 10
  (train_z, val_z), (train_y, val_y) = ((a[:-held], a[-held:]) for a in (train_z, train_y))
  params = {"w": jnp.zeros((train_z.shape[1], num_classes)), "b": jnp.zeros((num_classes,))}
  tx = optax.adam(lr)

  def loss_fn(p, z, y):
    logits = z @ p["w"] + p["b"]
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), logits

  @jax.jit
  def step(p, opt, z, y):
    (loss, _), g = jax.value_and_grad(loss_fn, has_aux=True)(p, z, y)
    updates, opt = tx.update(g, opt, p)
    return optax.apply_updates(p, updates), opt, loss

  opt = tx.init(params)
  best, best_loss = params, float(loss_fn(params, val_z, val_y)[0])
  for t in range(steps):
    idx = jax.random.randint(jax.random.fold_in(rng, t), (batch,), 0, len(train_z))
    params, opt, _ = step(params, opt, train_z[idx], train_y[idx])
    if (t + 1) % check_every == 0:
      val_loss = float(loss_fn(params, val_z, val_y)[0])
      if val_loss < best_loss:
        best, best_loss = params, val_loss
  params = best

  def scores(z, y):
    loss, logits = loss_fn(params, z, y)
    return float(loss), float(jnp.mean(jnp.argmax(logits, -1) == y))

  test_loss, test_acc = scores(test_z, test_y)
  return test_loss, test_acc, scores(train_z, train_y)[1]


def probe(workdir, *, max_train=0, max_test=0, steps=2000, batch=256, lr=1e-3, encode_batch=250,
          seed=0):
  """The probe of one run: a dict of its model, data and the classifier's scores."""
  model, variables, config = flowzoo.load(workdir)
  rng = jax.random.PRNGKey(seed)
  train_x, train_y = labelled_images(config, config.data.train_split, max_train)
  test_x, test_y = labelled_images(config, config.data.eval_split, max_test)
  train_z = embed(model, variables, train_x, encode_batch, jax.random.fold_in(rng, 0))
  test_z = embed(model, variables, test_x, encode_batch, jax.random.fold_in(rng, 1))
  num_classes = int(max(train_y.max(), test_y.max())) + 1
  loss, acc, train_acc = train_probe(train_z, train_y, test_z, test_y, num_classes=num_classes,
                                     steps=steps, batch=batch, lr=lr,
                                     rng=jax.random.fold_in(rng, 2))
  return dict(workdir=str(workdir), model=config.model.name, dataset=config.data.name,
              corruption=config.data.corruption, params=models.count_params(variables),
              train_images=len(train_x), test_images=len(test_x), features=train_z.shape[1],
              test_loss=loss, test_accuracy=acc, train_accuracy=train_acc)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  console.setup()
  results = [probe(w, max_train=_MAX_TRAIN.value, max_test=_MAX_TEST.value, steps=_STEPS.value,
                   batch=_BATCH.value, lr=_LR.value, encode_batch=_ENCODE_BATCH.value,
                   seed=_SEED.value) for w in _WORKDIRS.value]
  print(f"{'model':<10} {'params':>11} {'test loss':>9} {'test acc':>8}  workdir")
  for r in results:
    print(f"{r['model']:<10} {r['params']:>11,} {r['test_loss']:>9.4f} "
          f"{100 * r['test_accuracy']:>7.2f}%  {r['workdir']}")
  if _OUT.value:
    with open(_OUT.value, "w") as f:
      json.dump(results, f, indent=2)


if __name__ == "__main__":
  app.run(main)
