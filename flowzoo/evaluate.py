"""The one evaluator: bits per dimension over a whole split, for every backbone.

With K = config.eval.num_samples the bound is log (1/K) sum_k p_k, each p_k with
fresh dequantization and augmentation noise: K = 1 is the single-sample bound
(ELBO), K > 1 the importance-weighted bound (IWBO, Burda et al. 2016), which is
tighter and converges to log P(x) as K grows. Every image of the split counts
exactly once: the data layer pads the last batch and masks the padding.
"""
import jax
import jax.numpy as jnp
from jax.sharding import NamedSharding, PartitionSpec as P

from flowzoo import console, models
from flowzoo.models.base import bits_per_dim


def log_likelihood_bound(model, variables, images, rng, num_samples):
  """[B] nats: log (1/K) sum_k p_k, the K samples evaluated one after another."""
  def one(key):
    return model.apply(variables, images, rngs=models.rngs(key), method="log_prob")
  log_p = jax.lax.map(one, jax.random.split(rng, num_samples))
  return jax.nn.logsumexp(log_p, axis=0) - jnp.log(float(num_samples))


def make_eval_step(model, shape, num_samples, mesh):
  """Jitted (variables, images, mask, rng) -> (sum of bpd over unmasked, count)."""
  def step(variables, images, mask, rng):
    bound = log_likelihood_bound(model, variables, images, rng, num_samples)
    bpd = bits_per_dim(bound, shape)
    return jnp.sum(jnp.where(mask, bpd, 0.0)), jnp.sum(mask)

  replicated, batch = NamedSharding(mesh, P()), NamedSharding(mesh, P("data"))
  return jax.jit(step, in_shardings=(replicated, batch, batch, replicated),
                 out_shardings=replicated)


def evaluate(eval_step, variables, batches, rng, mesh, *, total=None, what="evaluation",
             every_seconds=30.0):
  """Mean bpd over every unmasked image of `batches` ((images, mask) per process).

  With `total` (images in the split), a long evaluation reports its progress.
  """
  sharding = NamedSharding(mesh, P("data"))
  progress = console.Progress(what, total, every_seconds=every_seconds, unit="images",
                              quiet_for=every_seconds / 2) if total else None
  sum_, count = 0.0, 0
  for i, (images, mask) in enumerate(batches):
    images = jax.make_array_from_process_local_data(sharding, images)
    mask = jax.make_array_from_process_local_data(sharding, mask)
    s, n = eval_step(variables, images, mask, jax.random.fold_in(rng, i))
    sum_, count = sum_ + float(s), count + int(n)
    if progress and count < total:
      progress.update(count, f"bpd so far {sum_ / max(count, 1):.4f}")
  return {"bpd": sum_ / max(count, 1), "count": count}
