"""A model's samples on the host: the trainer's and the evaluator's grid, the sample
command's temperature sweep and interpolations, FID's draws. Every image comes from
the model's own directions (flowzoo.models.base: sample, encode, decode)."""
import functools

import jax
import jax.numpy as jnp
import numpy as np

from flowzoo import console, cost, images as image_lib, models


@functools.partial(jax.jit, static_argnums=(0, 2, 6))
def _sample(model, variables, num, temperature, rng, labels, guidance):
  return model.apply(variables, num, temperature=temperature, with_finite=True,
                     labels=labels, rngs={"sample": rng}, method="sample", **dict(guidance))


def sample(model, variables, num, temperature, rng, labels=None, guidance=None):
  """uint8 [num, H, W, C] drawn at `temperature`; says how many overflowed to black.

  A class-conditional model draws class `labels` [num], by default every class in
  turn (0, 1, ..., num_classes - 1, 0, ...), so a grid shows them all. `guidance`:
  keyword arguments of a backbone's decode that guide it (TarFlow's guidance,
  attn_temp, annealed_guidance).
  """
  if labels is None and getattr(model, "num_classes", 0):
    labels = np.arange(num) % model.num_classes
  images, finite = _sample(model, variables, num, temperature, rng,
                           None if labels is None else jnp.asarray(labels, jnp.int32),
                           tuple(sorted((guidance or {}).items())))
  overflowed = num - int(np.sum(finite))
  if overflowed:
    console.say(f"{overflowed} of {num} samples at temperature {temperature} are not finite "
                "(black in the grid): the model's inverse overflowed float32 there")
  return np.asarray(images)


def grid_key(seed):
  """The key of a run's sample grid: the trainer's and flowzoo.evaluate's grid of one
  checkpoint are the same images."""
  return jax.random.fold_in(jax.random.PRNGKey(seed), 1)


def sample_grid(model, variables, config, rng, path):
  """Writes the sample grid of config.sample to `path`; the record's fields of it:
  its temperature, the sampling speed at its batch and, with eval.fid_weights, FID."""
  from flowzoo import fid  # pylint: disable=g-import-not-at-top (fid samples with this)
  num, temperature = config.sample.num, config.sample.temperature
  image_lib.write_png(path, image_lib.grid(sample(model, variables, num, temperature, rng)))
  speed = cost.images_per_second(lambda: sample(model, variables, num, temperature, rng), num)
  return {"sample_temperature": temperature,
          "sampling": {"images_per_s": speed, "batch": num, "temperature": temperature},
          "fid": (fid.measure(model, variables, config, jax.random.fold_in(rng, 1))
                  if config.eval.fid_weights else None)}


def temperature_sweep(model, variables, temperatures, per_row, rng):
  """uint8 [len(temperatures) * per_row, H, W, C], row by row, one prior draw for all rows."""
  return np.concatenate([sample(model, variables, per_row, t, rng) for t in temperatures])


@functools.partial(jax.jit, static_argnums=(0, 4))
def _interpolate(model, variables, starts, ends, steps, rng):
  z0, *_ = model.apply(variables, starts, method="encode", rngs=models.rngs(rng))
  z1, *_ = model.apply(variables, ends, method="encode",
                       rngs=models.rngs(jax.random.fold_in(rng, 1)))
  t = jnp.linspace(0.0, 1.0, steps)

  def line(a, b):  # [P, ...] x2 -> [P * steps, ...], row-major by pair
    t_ = t.reshape((1, steps) + (1,) * (a.ndim - 1))
    return ((1 - t_) * a[:, None] + t_ * b[:, None]).reshape((-1,) + a.shape[1:])

  # A latent may be a pytree (Glow's factored-out levels): interpolate every leaf.
  z = jax.tree.map(line, z0, z1)
  return model.apply(variables, z, method="decode", rngs=models.rngs(rng))


def interpolations(model, variables, starts, ends, steps, rng):
  """uint8 [P * steps, H, W, C]: for each pair, `steps` decodings from the latent of
  starts[i] to that of ends[i] on a straight line."""
  return np.asarray(_interpolate(model, variables, starts, ends, steps, rng))
