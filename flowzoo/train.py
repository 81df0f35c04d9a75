"""The one trainer of flowzoo: every backbone, any number of devices and processes.

Data parallel over a 1-D mesh of every device of every process: the batch is
sharded on the mesh axis, the train state is replicated, and one jitted step
does the rest (XLA inserts the gradient all-reduce). The state is one pytree, so
a checkpoint is the whole run and a resumed run continues the same data order and
the same rng stream: step t always uses fold_in(rng, t) and the t-th batch.
"""
import functools
import time
from typing import Any

import flax
import jax
import jax.numpy as jnp
import numpy as np
import optax
from etils import epath
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from flowzoo import checkpoint, config as config_lib, console, data, evaluate
from flowzoo import cost, flops, models, optim, paths, provenance, sampling
from flowzoo import records
from flowzoo.models.base import bits_per_dim

# Non-parameter collections that a training step updates (conditioners' batch
# norms); any other collection (e.g. Jet's frozen split matrices) is read-only.
MUTABLE = ("batch_stats",)


@flax.struct.dataclass
class TrainState:
  step: jax.Array
  params: Any
  model_state: Any  # every non-'params' collection of the model's variables
  opt_state: Any
  rng: jax.Array    # the run's root key; step t uses fold_in(rng, t)
  skipped: jax.Array  # steps whose loss or gradient was not finite

  @property
  def variables(self):
    return {"params": self.params, **self.model_state}


def make_mesh(devices=None):
  return Mesh(np.asarray(devices if devices is not None else jax.devices()), ("data",))


def create_state(model, tx, rng, images, variables=None):
  """Initialises the model on `images` (data-dependent layers see the global batch), or
  starts from given `variables` (released weights converted by flowzoo.convert)."""
  init_rng, run_rng = jax.random.split(rng)
  if variables is None:
    variables = models.init_model(model, init_rng, images)
  params = variables["params"]
  model_state = {k: v for k, v in variables.items() if k != "params"}
  return TrainState(step=jnp.zeros((), jnp.int32), params=params, model_state=model_state,
                    opt_state=tx.init(params), rng=run_rng, skipped=jnp.zeros((), jnp.int32))


def split_batch(batch):
  """(images, labels) of a batch of the data layer; labels None without data.labels."""
  return batch if isinstance(batch, tuple) else (batch, None)


def train_step(state, batch, *, model, tx, shape, label_dropout=0.0):
  """One update on the mean bpd of the batch (images, or (images, labels)).

  An update whose loss, gradient or step is not finite is skipped: the state
  stays as it was (but for the step and the skip count), so one bad batch
  cannot poison the parameters, and a learning rate that makes NaN steps never
  reaches a checkpoint. With labels, each is replaced by -1 (no label) with
  probability label_dropout, so that the model also learns its unconditional
  branch for classifier-free guidance.
  """
  rng = jax.random.fold_in(state.rng, state.step)
  rngs = models.rngs(rng)
  images, labels = split_batch(batch)
  if labels is not None and label_dropout:
    dropped = jax.random.bernoulli(rngs.pop("labels"), label_dropout, labels.shape)
    labels = jnp.where(dropped, -1, labels)
  mutable = [k for k in MUTABLE if k in state.model_state]

  def loss_fn(params):
    log_px, updates = model.apply(
        {"params": params, **state.model_state}, images, train=True, labels=labels,
        rngs=rngs, method="log_prob", mutable=mutable)
    return jnp.mean(bits_per_dim(log_px, shape)), updates

  (loss, updates), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  grad_norm = optax.tree.norm(grads)
  deltas, opt_state = tx.update(grads, state.opt_state, state.params)
  finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm) & jnp.isfinite(optax.tree.norm(deltas))
  proposed = (optax.apply_updates(state.params, deltas), {**state.model_state, **updates}, opt_state)
  params, model_state, opt_state = jax.tree.map(
      lambda new, old: jnp.where(finite, new, old), proposed,
      (state.params, state.model_state, state.opt_state))
  state = state.replace(step=state.step + 1, params=params, model_state=model_state,
                        opt_state=opt_state, skipped=state.skipped + (~finite).astype(jnp.int32))
  return state, {"train_bpd": loss, "grad_norm": grad_norm, "skipped": ~finite,
                 "skipped_steps": state.skipped}


def compile_train_step(model, tx, shape, mesh, label_dropout=0.0):
  replicated, batch = NamedSharding(mesh, P()), NamedSharding(mesh, P("data"))
  step = functools.partial(train_step, model=model, tx=tx, shape=shape,
                           label_dropout=label_dropout)
  return jax.jit(step, in_shardings=(replicated, batch), out_shardings=replicated,
                 donate_argnums=0)


def check(config, workdir, sharded=("train", "eval")):
  """Every check of a run that can fail before data loading and compilation; the
  batches of the `sharded` sections are split over the devices (an evaluation of a
  run shards only its eval batches).

  Returns the config with absolute paths, the absolute workdir, and the batch sizes
  as the data layer takes them.
  """
  config_lib.validate(config)
  config = config_lib.resolve_paths(config)
  batching = dict(global_batch_size=config.train.batch_size,
                  eval_batch_size=config.eval.batch_size)
  data.check_config(config.data, **batching, process_count=jax.process_count(),
                    num_classes=config.model.get("num_classes", 0))
  for field in sharded:
    if config[field].batch_size % jax.device_count():
      raise ValueError(f"config.{field}.batch_size={config[field].batch_size} must be a "
                       f"multiple of the {jax.device_count()} devices.")
  workdir = epath.Path(paths.resolve(workdir))
  checkpoint.check_same_run(workdir, config)
  return config, workdir, batching


class Diverged(FloatingPointError):
  """The run stopped because its updates kept being skipped or its bound is not finite."""


def train_and_evaluate(config, workdir, *, stop_after_steps=None, config_file=None):
  """Trains config's model in workdir (resuming what is there) and evaluates it.

  A workdir whose run has finished is not touched: its result is returned with
  "finished_before": True. `stop_after_steps` ends the run after that global
  step as a pre-emption would (after its checkpoint), for time-sliced schedulers
  and tests; the schedule is still the one of config.train.steps. Returns the
  final metrics (and at a stop, the metrics so far).
  """
  # -------------------------------------------------------------------------------------
  # Checks that can fail, before anything is loaded or compiled.
  # -------------------------------------------------------------------------------------
  config, workdir, batching = check(config, workdir)
  console.say(f"workdir {workdir}")
  finished = checkpoint.finished_result(workdir, config.train.steps)
  if finished is not None:
    return {**finished, "finished_before": True}
  shape = tuple(config.data.shape)

  # -------------------------------------------------------------------------------------
  # Set-up: mesh, data, model, optimizer, checkpoints, metric writers.
  # -------------------------------------------------------------------------------------
  mesh = make_mesh()
  replicated, batch_sharding = NamedSharding(mesh, P()), NamedSharding(mesh, P("data"))
  ds = data.get_datasets(config.data, **batching, seed=config.seed,
                         process_index=jax.process_index(), process_count=jax.process_count())
  model = models.build_model(config)
  tx = optim.make(config.train)
  if jax.process_index() == 0:
    checkpoint.save_config(workdir, config)
  mngr = checkpoint.manager(workdir, config.checkpoint.keep)
  from clu import metric_writers  # pylint: disable=g-import-not-at-top (TensorFlow)
  writer = metric_writers.create_default_writer(
      str(checkpoint.tensorboard_dir(workdir)), just_logging=jax.process_index() > 0)
  to_global = lambda batch: jax.tree.map(
      lambda x: jax.make_array_from_process_local_data(batch_sharding, x), batch)

  # -------------------------------------------------------------------------------------
  # Initialise (data-dependent, on the first global batch) or restore.
  # -------------------------------------------------------------------------------------
  root = jax.random.PRNGKey(config.seed)
  first = to_global(next(iter(ds.train(0))))
  init = jax.jit(functools.partial(create_state, model, tx), out_shardings=replicated)
  if mngr.latest_step() is not None:
    abstract = checkpoint.abstract(jax.eval_shape(init, root, split_batch(first)[0]),
                                   replicated)
    state = checkpoint.restore(mngr, abstract)
    console.say(f"resuming {workdir} at step {int(state.step):,} of {config.train.steps:,}")
  else:
    state = init(root, split_batch(first)[0])
  start = int(state.step)
  num_params = models.count_params(state.variables)
  console.say(f"{config.model.name}, {num_params:,} parameters, on {config.data.name} "
              f"{'x'.join(map(str, shape))}, {jax.device_count()} {jax.default_backend()} "
              f"device{'s' if jax.device_count() > 1 else ''}")

  # -------------------------------------------------------------------------------------
  # Train.
  # -------------------------------------------------------------------------------------
  # The train step may compute in bfloat16 (config.train.compute_dtype); evaluation
  # and sampling always in float32, so that a bound is a float32 bound.
  step_fn = compile_train_step(models.with_compute_dtype(model, config.train.compute_dtype),
                               tx, shape, mesh, config.train.label_dropout)
  eval_fn = evaluate.make_eval_step(model, shape, config.eval.num_samples, mesh)
  eval_rng = evaluate.eval_key(config.seed)
  run_eval = lambda what: evaluate.evaluate(eval_fn, state.variables, ds.eval(), eval_rng,
                                            mesh, total=ds.num_eval, what=what)
  last = config.train.steps if stop_after_steps is None else min(stop_after_steps, config.train.steps)
  started = time.time()
  # Device-hours of every segment of the run, noted at each checkpoint (flowzoo.cost).
  segment = cost.Segment(checkpoint.train_time_path(workdir), start, jax.device_count(),
                         cost.device_kind())
  train_bpd, init_bpd = None, None
  if config.eval.at_start and start == 0:
    init_bpd = run_eval("baseline at initialisation")["bpd"]
    writer.write_scalars(0, {"eval_bpd": init_bpd})
    console.say(f"test bpd at initialisation {init_bpd:.4f}")
  if start < last:
    console.say(f"compiling the train step (batch {config.train.batch_size})")
    compile_start = time.time()
    compiled = step_fn.lower(state, first).compile()
    console.say(f"compiled in {console.duration(time.time() - compile_start)}; training steps "
                f"{start + 1:,} to {last:,}")
  progress = console.Progress("step", config.train.steps, start,
                              config.train.progress_every_seconds)
  window, skipped_in_a_row = [], 0

  def observe(step, metrics):
    """Reads a step's metrics one step late, so the host never stalls the device queue."""
    nonlocal train_bpd, skipped_in_a_row, window
    m = jax.device_get(metrics)
    if m["skipped"]:
      skipped_in_a_row += 1
      console.say(f"step {step:,}: update skipped (train bpd {m['train_bpd']:.4g}, grad norm "
                  f"{m['grad_norm']:.4g} not finite); {int(m['skipped_steps'])} skipped so far")
      if skipped_in_a_row >= config.train.max_consecutive_skips:
        raise Diverged(
            f"the last {skipped_in_a_row} updates (to step {step:,}) were all skipped for a "
            "non-finite loss, gradient or step: the run diverged. Its checkpoints hold the "
            "last finite state. Lower config.train.lr "
            f"(={config.train.lr}), raise config.train.warmup_steps "
            f"(={config.train.warmup_steps}) or set config.train.grad_clip "
            f"(={config.train.grad_clip}), and start again in a new --workdir.")
      return
    skipped_in_a_row = 0
    window.append(m)
    train_bpd = float(m["train_bpd"])
    if step % config.train.log_every == 0 or step == last:
      summary = {k: float(np.mean([x[k] for x in window])) for k in ("train_bpd", "grad_norm")}
      writer.write_scalars(step, {**summary, "skipped_steps": int(m["skipped_steps"])})
      window = []
    progress.update(step, f"train bpd {train_bpd:.4f}, grad norm {float(m['grad_norm']):.3g}")

  batches = ds.train(start)
  pending = None
  try:
    for step in range(start + 1, last + 1):
      state, metrics = compiled(state, to_global(next(batches)))
      if pending is not None:
        observe(*pending)
      pending = (step, metrics)
      if step % config.checkpoint.every_steps == 0 or step == last:
        checkpoint.save(mngr, step, state)
        if jax.process_index() == 0:
          segment.note(step)
      if (config.eval.every_steps and step % config.eval.every_steps == 0
          and step < config.train.steps):
        result = run_eval(f"evaluation at step {step:,}")
        writer.write_scalars(step, {"eval_bpd": result["bpd"]})
        console.say(f"step {step:,}: test bpd {result['bpd']:.4f}")
    if pending is not None:
      observe(*pending)
  finally:  # However the loop ends, a checkpoint being written is finished.
    mngr.wait_until_finished()
  if last < config.train.steps:
    console.say(f"stopped at step {last:,} of {config.train.steps:,}; run again to resume.")
    return {"step": last, "train_bpd": train_bpd}

  # -------------------------------------------------------------------------------------
  # Final evaluation, sample grid, leaderboard record: once per run.
  # -------------------------------------------------------------------------------------
  result = run_eval("final evaluation")
  if not np.isfinite(result["bpd"]):
    raise Diverged(f"the test bpd of step {config.train.steps:,} is {result['bpd']}: no "
                   "samples or leaderboard record written. Lower config.train.lr "
                   f"(={config.train.lr}) and start again in a new --workdir.")
  writer.write_scalars(config.train.steps, {"eval_bpd": result["bpd"]})
  dequantization = provenance.dequantization(model)
  bound = records.bound_name(config.eval.num_samples, dequantization)
  grid_path, measured = None, {}
  if jax.process_index() == 0:
    grid_path = checkpoint.grid_path(workdir, config.train.steps)
    measured = sampling.sample_grid(model, state.variables, config,
                                    sampling.grid_key(config.seed), grid_path)
  out = {"step": config.train.steps, "bpd": result["bpd"], "count": result["count"],
         "init_bpd": init_bpd, "bound": bound, "model": config.model.name,
         "dataset": config.data.name, "train_bpd": train_bpd, "params": num_params,
         "workdir": str(workdir), "sample_grid": str(grid_path),
         "checkpoint": str(checkpoint.step_path(workdir, config.train.steps)), "record": None,
         "fid": measured.get("fid")}
  if config.leaderboard.dir and jax.process_index() == 0:
    # A run killed after writing its record, then restarted, finds it instead.
    found = records.find_record(config.leaderboard.dir, workdir=str(workdir),
                                steps=config.train.steps, bound=bound)
    if found is None:
      wall_time = time.time() - started
      file, _, arg = (config_file or "").partition(":")
      found = records.write_record(config.leaderboard.dir, records.run_record(
          config, workdir, config.train.steps, bpd=out["bpd"], images=out["count"],
          bound=bound, train_bpd=train_bpd, params=num_params, dequantization=dequantization,
          config_file=file or None, config_arg=arg or None, wall_time_s=wall_time,
          train_flops=flops.flops(step_fn, state, first) * config.train.steps,
          train_flops_method=flops.METHOD,
          device_hours=cost.device_hours(checkpoint.train_time_path(workdir)),
          sample_grid=out["sample_grid"], **measured))
    out["record"] = str(found)
  if jax.process_index() == 0:
    checkpoint.save_result(workdir, out)
  writer.flush()
  return out
