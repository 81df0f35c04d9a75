"""Speed and memory of one config: train, log-likelihood and sampling throughput.

    python experiments/benchmark.py --config=configs/mixerflow_cifar10.py --batch_size=32
    python experiments/benchmark.py --config=configs/mixerflow_cifar10.py --batch_size=32 \
        --backprop=invertible --depths=8,16,32,64

Prints one line for each of the train step, the forward log-likelihood and sampling:
compile seconds, seconds per call, images/s, its FLOPs (flowzoo/flops.py: matrix
products and convolutions, scanned layers counted per iteration) and the GFLOP/s
they ran at, its normalized cost, and its memory. Shared machines change speed from
minute to minute, so right before and after each timed loop the same process
measures the float32 matmul speed of a jitted (2048x256)@(256x1024) product (best of
20); the normalized cost of a call is its seconds times that GFLOP/s (the mean of
before and after), a figure that stays comparable across machines of one kind and
across their speed states.

Memory, per call: XLA's memory analysis of the compiled call, exact and independent
of what else the process holds: its temporaries (the activations a backward pass
keeps, the buffers of the step) and its total (arguments + outputs + temporaries +
generated code, less the outputs aliased to arguments); then the process's peak
resident memory so far (RSS: on CPU the device's buffers are in it, and so is
everything the process imported and compiled before), and on a backend that reports
it (GPUs) the device's peak bytes in use so far. Both peaks are running peaks read
after the call's timed loop (neither can be reset), so a call's own peak shows where
it exceeds every earlier call's.

--backprop sets config.model.backprop ('store' every activation, 'remat', or
'invertible': recompute each layer's input with its inverse, flowzoo/bijectors/
invertible.py) on the backbones that have the field. --depths=8,16,32,64 times the
train step alone, the model rebuilt at each depth: DEPTH_FIELDS names the field of
each backbone that is its depth, and a depth d sets it to d (a per-block tuple, as
DenseFlow's modules per unit, to d in every block). One line per depth: depth,
parameters, then the call's line as above, so memory and step time against depth.
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
from flowzoo.bijectors import invertible
from flowzoo.models.fields import config_fields

_CONFIG = config_flags.DEFINE_config_file("config", None, "Config file, path[:arg].")
_BATCH = flags.DEFINE_integer("batch_size", 32, "Global batch of every timed call.")
_STEPS = flags.DEFINE_integer("steps", 5, "Timed calls per measurement (after one warm-up).")
_BACKPROP = flags.DEFINE_enum("backprop", None, invertible.BACKPROPS,
                              "Sets config.model.backprop (backbones that have it).")
_DEPTHS = flags.DEFINE_list("depths", None, "Depth sweep of the train step alone: the "
                            "backbone's DEPTH_FIELDS field set to each, e.g. 8,16,32,64.")
_JSON = flags.DEFINE_string("json", None, "Also write the figures to this JSON file.")
flags.mark_flags_as_required(["config"])

# The config.model field that is a backbone's depth: how many of its repeated layers
# (MixerFlow's mixer layers, Jet's couplings, Glow's steps per level, DenseFlow's
# modules per unit in every block, TarFlow's autoregressive flows, MAF's MADEs).
DEPTH_FIELDS = {
    "mixerflow": "num_layers",
    "jet": "num_couplings",
    "glow": "steps_per_level",
    "denseflow": "modules",
    "tarflow": "num_flows",
    "maf": "num_mades",
}


def configured(config, backprop=None, depth=None):
  """`config` with config.model.backprop and the depth field set where given; a
  ValueError naming the field where the backbone lacks it."""
  config = config.copy_and_resolve_references()
  name = config.model.name
  if backprop is not None:
    if "backprop" not in config_fields(models.backbone(name)):
      have = [n for n in models.names() if "backprop" in config_fields(models.backbone(n))]
      raise ValueError(f"--backprop={backprop}: the {name} backbone has no "
                       f"config.model.backprop field; the backbones with one: {have}. "
                       "Drop --backprop for this config.")
    config.model.backprop = backprop
  if depth is not None:
    key = DEPTH_FIELDS[name]
    old = config.model[key]
    config.model[key] = tuple([depth] * len(old)) if isinstance(old, (tuple, list)) else depth
  models.validate(config)
  return config


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


def memory(compiled):
  """XLA's temporaries and total bytes of a compiled call, and the running peaks:
  process RSS and, where the backend reports it, device bytes in use."""
  m = compiled.memory_analysis()
  total = (m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes
           + m.generated_code_size_in_bytes - m.alias_size_in_bytes)
  stats = jax.devices()[0].memory_stats() or {}
  return dict(xla_temp_bytes=m.temp_size_in_bytes, xla_total_bytes=total,
              xla_argument_bytes=m.argument_size_in_bytes,
              xla_output_bytes=m.output_size_in_bytes,
              xla_generated_code_bytes=m.generated_code_size_in_bytes,
              peak_rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,  # KiB
              peak_device_bytes=stats.get("peak_bytes_in_use"))


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
  mem = memory(compiled)
  row = dict(name=name, compile_s=compile_s, seconds=seconds, images_per_s=batch / seconds,
             gflop=gflop, gflops_before=before, gflops_after=after,
             normalized_cost=seconds * gflops, **mem)
  device = mem["peak_device_bytes"]
  print(f"{name:>14}: compile {compile_s:6.1f} s | {seconds:8.4f} s/call | "
        f"{batch / seconds:9.1f} images/s | {gflop:8.1f} GFLOP at {gflop / seconds:6.1f} GFLOP/s | "
        f"matmul {before:6.1f} -> {after:6.1f} GFLOP/s | normalized cost {seconds * gflops:8.1f} | "
        f"XLA temp {mem['xla_temp_bytes'] / 2**20:8.1f} MiB, total "
        f"{mem['xla_total_bytes'] / 2**20:8.1f} MiB | peak RSS so far "
        f"{mem['peak_rss_bytes'] / 2**30:5.2f} GiB"
        + (f" | peak device so far {device / 2**30:5.2f} GiB" if device is not None else ""),
        flush=True)
  return row


def main(argv):
  del argv
  config = configured(_CONFIG.value, _BACKPROP.value)
  batch = _BATCH.value
  config.train.batch_size = batch
  shape = tuple(config.data.shape)
  tx = optim.make(config.train)
  mesh = train.make_mesh()
  print(f"{config.model.name} {shape} batch {batch} on {jax.device_count()} x "
        f"{jax.devices()[0].device_kind}"
        + (f", backprop {config.model.backprop}" if "backprop" in config.model else ""),
        flush=True)
  images = jax.random.randint(jax.random.PRNGKey(0), (batch, *shape), 0, 256).astype(jnp.uint8)
  replicated, sharded = (jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec(*s))
                         for s in ((), ("data",)))

  def train_step(model):
    """The trainer's step without donation, so that every timed call gets the same state."""
    state = jax.jit(lambda r, x: train.create_state(model, tx, r, x))(
        jax.random.PRNGKey(0), images)
    step = functools.partial(train.train_step, model=model, tx=tx, shape=shape)
    step = jax.jit(step, in_shardings=(replicated, sharded), out_shardings=replicated)
    return step, state, models.count_params(state.variables)

  rows = []
  if _DEPTHS.value:
    field = DEPTH_FIELDS[config.model.name]
    print(f"depth: config.model.{field}", flush=True)
    for depth in map(int, _DEPTHS.value):
      step, state, params = train_step(models.build_model(configured(config, depth=depth)))
      row = measure(f"depth {depth:>3}, {params / 1e6:6.2f}M params", step, (state, images),
                    _STEPS.value, batch)
      rows.append(dict(depth=depth, params=params, **row))
      del step, state  # the next depth's buffers replace these
  else:
    model = models.build_model(config)
    step, state, params = train_step(model)
    print(f"{params:,} trainable parameters", flush=True)
    key = jax.random.PRNGKey(1)
    rows.append(measure("train step", step, (state, images), _STEPS.value, batch))
    log_prob = jax.jit(lambda v, x, k: model.apply(v, x, rngs=models.rngs(k), method="log_prob"))
    rows.append(measure("log-likelihood", log_prob, (state.variables, images, key),
                        _STEPS.value, batch))
    sample = jax.jit(lambda v, k: model.apply(v, batch, temperature=1.0, rngs={"sample": k},
                                              method="sample"))
    rows.append(measure("sampling", sample, (state.variables, key), _STEPS.value, batch))
  if _JSON.value:
    with open(_JSON.value, "w") as f:
      json.dump(dict(config=config.model.to_dict(), batch=batch, rows=rows), f, indent=2)


if __name__ == "__main__":
  app.run(main)
