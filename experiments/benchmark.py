"""Speed and memory of one config: train, log-likelihood and sampling throughput.

    python experiments/benchmark.py --config=configs/mixerflow_cifar10.py --batch_size=32

Prints, for each of the train step, the forward log-likelihood and sampling:
compile seconds, seconds per call, images/s, its FLOPs (flowzoo/flops.py: matrix
products and convolutions, scanned layers counted per iteration) and the GFLOP/s
they ran at, and its normalized cost. Shared
machines change speed from minute to minute, so right before and after each timed
loop the same process measures the float32 matmul speed of a jitted
(2048x256)@(256x1024) product (best of 20); the normalized cost of a call is its
seconds times that GFLOP/s (the mean of before and after), a figure that stays
comparable across machines of one kind and across their speed states. Peak
memory is the device's peak where the backend reports it (GPUs), and the
process's peak resident memory (which includes the device on CPU).
"""
import functools
import json
import resource
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags
from ml_collections import config_flags

from flowzoo import flops, models, optim, train

_CONFIG = config_flags.DEFINE_config_file("config", None, "Config file, path[:arg].")
_BATCH = flags.DEFINE_integer("batch_size", 32, "Global batch of every timed call.")
_STEPS = flags.DEFINE_integer("steps", 5, "Timed calls per measurement (after one warm-up).")
_JSON = flags.DEFINE_string("json", None, "Also write the figures to this JSON file.")
flags.mark_flags_as_required(["config"])


def matmul_gflops(repeats=20):
  """Best-of-`repeats` float32 GFLOP/s of a jitted (2048x256)@(256x1024) product."""
  a = jnp.ones((2048, 256), jnp.float32)
  b = jnp.ones((256, 1024), jnp.float32)
  f = jax.jit(lambda a, b: a @ b)
  f(a, b).block_until_ready()
  best = np.inf
  for _ in range(repeats):
    t = time.perf_counter()
    f(a, b).block_until_ready()
    best = min(best, time.perf_counter() - t)
  return 2 * 2048 * 256 * 1024 / best / 1e9


def measure(name, fn, args, steps, batch):
  """Compiles fn(*args), then times `steps` calls between two matmul measurements."""
  gflop = flops.flops(fn, *args) / 1e9
  t = time.perf_counter()
  compiled = fn.lower(*args).compile()
  compile_s = time.perf_counter() - t
  jax.block_until_ready(compiled(*args))  # warm-up
  before = matmul_gflops()
  t = time.perf_counter()
  for _ in range(steps):
    out = compiled(*args)
  jax.block_until_ready(out)
  seconds = (time.perf_counter() - t) / steps
  after = matmul_gflops()
  gflops = (before + after) / 2
  row = dict(name=name, compile_s=compile_s, seconds=seconds, images_per_s=batch / seconds,
             gflop=gflop, gflops_before=before, gflops_after=after,
             normalized_cost=seconds * gflops)
  print(f"{name:>14}: compile {compile_s:6.1f} s | {seconds:8.4f} s/call | "
        f"{batch / seconds:9.1f} images/s | {gflop:8.1f} GFLOP at {gflop / seconds:6.1f} GFLOP/s | "
        f"matmul {before:6.1f} -> {after:6.1f} GFLOP/s | normalized cost {seconds * gflops:8.1f}",
        flush=True)
  return row


def peak_memory():
  stats = jax.devices()[0].memory_stats() or {}
  device = stats.get("peak_bytes_in_use")
  rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
  return device, rss


def main(argv):
  del argv
  config = _CONFIG.value
  batch = _BATCH.value
  config.train.batch_size = batch
  model = models.build_model(config)
  shape = tuple(config.data.shape)
  tx = optim.make(config.train)
  mesh = train.make_mesh()
  print(f"{config.model.name} {shape} batch {batch} on {jax.device_count()} x "
        f"{jax.devices()[0].device_kind}", flush=True)

  images = jax.random.randint(jax.random.PRNGKey(0), (batch, *shape), 0, 256).astype(jnp.uint8)
  state = jax.jit(lambda r, x: train.create_state(model, tx, r, x))(jax.random.PRNGKey(0), images)
  print(f"{models.count_params(state.variables):,} trainable parameters", flush=True)
  key = jax.random.PRNGKey(1)

  rows = []
  # The trainer's step without donation, so that every timed call gets the same state.
  step = functools.partial(train.train_step, model=model, tx=tx, shape=shape)
  replicated, sharded = (jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec(*s))
                         for s in ((), ("data",)))
  step = jax.jit(step, in_shardings=(replicated, sharded), out_shardings=replicated)
  rows.append(measure("train step", step, (state, images), _STEPS.value, batch))
  log_prob = jax.jit(lambda v, x, k: model.apply(v, x, rngs=models.rngs(k), method="log_prob"))
  rows.append(measure("log-likelihood", log_prob, (state.variables, images, key),
                      _STEPS.value, batch))
  sample = jax.jit(lambda v, k: model.apply(v, batch, temperature=1.0, rngs={"sample": k},
                                            method="sample"))
  rows.append(measure("sampling", sample, (state.variables, key), _STEPS.value, batch))

  device, rss = peak_memory()
  if device is not None:
    print(f"peak device memory {device / 2**30:.2f} GiB", flush=True)
  print(f"peak process memory (RSS) {rss / 2**30:.2f} GiB", flush=True)
  if _JSON.value:
    with open(_JSON.value, "w") as f:
      json.dump(dict(config=config.model.to_dict(), batch=batch, rows=rows,
                     peak_device_bytes=device, peak_rss_bytes=rss), f, indent=2)


if __name__ == "__main__":
  app.run(main)
