"""Invertible backprop over training: does the inverse stay exact as the weights move?

    python experiments/invertible_drift.py --config=configs/mixerflow_quickstart.py
    python experiments/invertible_drift.py --config=configs/glow_cifar10.py:smoke \
        --steps=200 --every=20

Trains the config's model with config.model.backprop='invertible' (the trainer's step,
flowzoo/train.py) and every --every steps, at that step's parameters and batch, prints:
  roundtrip  max|inverse(forward(x)) - x| / max|x| of the dequantized batch in train mode,
             the mode in which the backward pass recomputes each layer's input;
  grad       max|g_invertible - g_store| / max|g_store| of the trainer's loss (mean
             bits/dim, same batch and dequantization noise), the error invertible
             backprop adds to the gradient;
  bpd        that loss.
A flow whose inverse drifted away from its forward as it trained would show the
roundtrip error, and with it the gradient error, growing with the step.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags
from ml_collections import config_flags

from flowzoo import data, models, optim, train
from flowzoo.models.base import bits_per_dim

_CONFIG = config_flags.DEFINE_config_file("config", None, "Config file, path[:arg].")
_STEPS = flags.DEFINE_integer("steps", 1000, "Training steps.")
_EVERY = flags.DEFINE_integer("every", 100, "Measure every this many steps (and at 0).")
flags.mark_flags_as_required(["config"])


def _relative(a, b):
  a, b = (np.concatenate([np.ravel(t) for t in jax.tree.leaves(u)]).astype(np.float64)
          for u in (a, b))
  return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def measures(model, shape):
  """A jitted (state, images) -> (roundtrip error, gradient error, bpd)."""
  store = model.clone(backprop="store")

  def grads(model, state, images, rngs):
    def loss(params):  # the trainer's (flowzoo/train.py: train_step)
      log_px, _ = model.apply({**state.variables, "params": params}, images, train=True,
                              rngs=rngs, method="log_prob", mutable=list(state.model_state))
      return jnp.mean(bits_per_dim(log_px, shape))
    return jax.value_and_grad(loss)(state.params)

  def roundtrip(state, images, rngs):
    def there_and_back(m, images):
      x, _ = m.dequantizer(images, train=True)
      z, _ = m.forward(x, train=True)
      return x, m.inverse(z, train=True)[0]
    (x, back), _ = model.apply(state.variables, images, rngs=rngs, method=there_and_back,
                               mutable=list(state.model_state))
    return jnp.max(jnp.abs(back - x)) / jnp.max(jnp.abs(x))

  @jax.jit
  def measure(state, images):
    rngs = models.rngs(jax.random.fold_in(state.rng, state.step))  # the step's own noise
    bpd, g = grads(model, state, images, rngs)
    _, g_store = grads(store, state, images, rngs)
    return roundtrip(state, images, rngs), g, g_store, bpd

  return measure


def main(argv):
  del argv
  config = _CONFIG.value
  config.model.backprop = "invertible"
  model = models.build_model(config)
  shape = tuple(config.data.shape)
  batch = config.train.batch_size
  tx = optim.make(config.train)
  ds = data.get_datasets(config.data, global_batch_size=batch, eval_batch_size=batch,
                         seed=config.seed, process_index=0, process_count=1)
  batches = ds.train(0)
  images = train.split_batch(next(batches))[0]
  state = jax.jit(lambda r, x: train.create_state(model, tx, r, x))(
      jax.random.PRNGKey(config.seed), images)
  step = jax.jit(functools.partial(train.train_step, model=model, tx=tx, shape=shape))
  measure = measures(model, shape)
  print(f"{config.model.name} {shape}, batch {batch}, backprop 'invertible', "
        f"{models.count_params(state.variables):,} params", flush=True)
  print(f"{'step':>5} {'roundtrip':>10} {'grad':>10} {'bpd':>8}", flush=True)
  for i in range(_STEPS.value + 1):
    if i % _EVERY.value == 0:
      roundtrip, g, g_store, bpd = measure(state, images)
      print(f"{i:5d} {float(roundtrip):10.2e} {_relative(g, g_store):10.2e} "
            f"{float(bpd):8.3f}", flush=True)
    if i == _STEPS.value:
      break
    state, _ = step(state, images)
    images = train.split_batch(next(batches))[0]


if __name__ == "__main__":
  app.run(main)
