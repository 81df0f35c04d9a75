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
from absl import logging
from clu import metric_writers, periodic_actions
from etils import epath
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

import flowzoo
from flowzoo import checkpoint, config as config_lib, data, evaluate, images as image_lib
from flowzoo import flops, models, optim, records
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


def create_state(model, tx, rng, images):
  """Initialises the model on `images` (data-dependent layers see the global batch)."""
  init_rng, run_rng = jax.random.split(rng)
  variables = models.init_model(model, init_rng, images)
  params = variables["params"]
  model_state = {k: v for k, v in variables.items() if k != "params"}
  return TrainState(step=jnp.zeros((), jnp.int32), params=params, model_state=model_state,
                    opt_state=tx.init(params), rng=run_rng, skipped=jnp.zeros((), jnp.int32))


def train_step(state, images, *, model, tx, shape):
  """One update on the mean bpd of the batch; a non-finite loss leaves state as it was."""
  rng = jax.random.fold_in(state.rng, state.step)
  mutable = [k for k in MUTABLE if k in state.model_state]

  def loss_fn(params):
    log_px, updates = model.apply(
        {"params": params, **state.model_state}, images, train=True,
        rngs=models.rngs(rng), method="log_prob", mutable=mutable)
    return jnp.mean(bits_per_dim(log_px, shape)), updates

  (loss, updates), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  grad_norm = optax.tree.norm(grads)
  finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm)
  deltas, opt_state = tx.update(grads, state.opt_state, state.params)
  proposed = (optax.apply_updates(state.params, deltas), {**state.model_state, **updates}, opt_state)
  params, model_state, opt_state = jax.tree.map(
      lambda new, old: jnp.where(finite, new, old), proposed,
      (state.params, state.model_state, state.opt_state))
  state = state.replace(step=state.step + 1, params=params, model_state=model_state,
                        opt_state=opt_state, skipped=state.skipped + (~finite).astype(jnp.int32))
  return state, {"train_bpd": loss, "grad_norm": grad_norm}


def compile_train_step(model, tx, shape, mesh):
  replicated, batch = NamedSharding(mesh, P()), NamedSharding(mesh, P("data"))
  step = functools.partial(train_step, model=model, tx=tx, shape=shape)
  return jax.jit(step, in_shardings=(replicated, batch), out_shardings=replicated,
                 donate_argnums=0)


def train_and_evaluate(config, workdir, *, stop_after_steps=None, config_file=None):
  """Trains config's model in workdir (resuming what is there) and evaluates it.

  `stop_after_steps` ends the run after that global step as a pre-emption would
  (after its checkpoint), for time-sliced schedulers and tests; the schedule is
  still the one of config.train.steps. Returns the final metrics (and at a stop,
  the metrics so far).
  """
  # -------------------------------------------------------------------------------------
  # Checks that can fail, before anything is compiled.
  # -------------------------------------------------------------------------------------
  config_lib.validate(config)
  shape = tuple(config.data.shape)
  batching = dict(global_batch_size=config.train.batch_size,
                  eval_batch_size=config.eval.batch_size)
  data.check_config(config.data, **batching, process_count=jax.process_count())
  for field in ("train", "eval"):
    if config[field].batch_size % jax.device_count():
      raise ValueError(f"config.{field}.batch_size={config[field].batch_size} must be a "
                       f"multiple of the {jax.device_count()} devices.")
  workdir = epath.Path(workdir)
  checkpoint.check_same_run(workdir, config)

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
  writer = metric_writers.create_default_writer(
      str(workdir / "tensorboard"), just_logging=jax.process_index() > 0)
  to_global = lambda x: jax.make_array_from_process_local_data(batch_sharding, x)

  # -------------------------------------------------------------------------------------
  # Initialise (data-dependent, on the first global batch) or restore.
  # -------------------------------------------------------------------------------------
  root = jax.random.PRNGKey(config.seed)
  first = to_global(next(iter(ds.train(0))))
  init = jax.jit(functools.partial(create_state, model, tx), out_shardings=replicated)
  if mngr.latest_step() is not None:
    abstract = checkpoint.abstract(jax.eval_shape(init, root, first), replicated)
    state = checkpoint.restore(mngr, abstract)
    logging.info("Resumed %s at step %d.", workdir, int(state.step))
  else:
    state = init(root, first)
  start = int(state.step)
  num_params = models.count_params(state.variables)
  logging.info("%s: %s trainable parameters on %d devices.", config.model.name,
               f"{num_params:,}", jax.device_count())

  # -------------------------------------------------------------------------------------
  # Train.
  # -------------------------------------------------------------------------------------
  step_fn = compile_train_step(model, tx, shape, mesh)
  eval_fn = evaluate.make_eval_step(model, shape, config.eval.num_samples, mesh)
  eval_rng = jax.random.fold_in(root, -1 % 2**31)
  progress = periodic_actions.ReportProgress(num_train_steps=config.train.steps, writer=writer)
  last = config.train.steps if stop_after_steps is None else min(stop_after_steps, config.train.steps)
  started = time.time()
  metrics, train_bpd, init_bpd = [], None, None
  if config.eval.at_start and start == 0:
    init_bpd = evaluate.evaluate(eval_fn, state.variables, ds.eval(), eval_rng, mesh)["bpd"]
    writer.write_scalars(0, {"eval_bpd": init_bpd})
    logging.info("step 0: eval bpd %.4f at initialisation", init_bpd)
  batches = ds.train(start)
  for step in range(start + 1, last + 1):
    state, m = step_fn(state, to_global(next(batches)))
    metrics.append(m)
    progress(step)
    if step % config.train.log_every == 0 or step == last:
      summary = {k: float(np.mean([x[k] for x in metrics])) for k in metrics[0]}
      summary["skipped_steps"] = int(state.skipped)
      train_bpd = summary["train_bpd"]
      writer.write_scalars(step, summary)
      logging.info("step %d/%d: train bpd %.4f, grad norm %.3g, %d skipped", step,
                   config.train.steps, train_bpd, summary["grad_norm"], summary["skipped_steps"])
      metrics = []
    if step % config.checkpoint.every_steps == 0 or step == last:
      checkpoint.save(mngr, step, state)
    if config.eval.every_steps and step % config.eval.every_steps == 0 and step < config.train.steps:
      result = evaluate.evaluate(eval_fn, state.variables, ds.eval(), eval_rng, mesh)
      writer.write_scalars(step, {"eval_bpd": result["bpd"]})
      logging.info("step %d: eval bpd %.4f over %d images", step, result["bpd"], result["count"])
  mngr.wait_until_finished()
  if last < config.train.steps:
    logging.info("Stopped at step %d of %d; run again to resume.", last, config.train.steps)
    return {"step": last, "train_bpd": train_bpd}

  # -------------------------------------------------------------------------------------
  # Final evaluation, sample grid, leaderboard record.
  # -------------------------------------------------------------------------------------
  result = evaluate.evaluate(eval_fn, state.variables, ds.eval(), eval_rng, mesh)
  writer.write_scalars(config.train.steps, {"eval_bpd": result["bpd"]})
  bound = evaluate.bound_name(config.eval.num_samples)
  logging.info("Test bpd %.4f (%s) over %d images.", result["bpd"], bound, result["count"])
  grid_path = None
  if jax.process_index() == 0:
    grid_path = workdir / f"samples_{config.train.steps}.png"
    images = sample(model, state.variables, config.sample.num, config.sample.temperature,
                    jax.random.fold_in(root, 1))
    image_lib.write_png(grid_path, image_lib.grid(images))
  out = {"step": config.train.steps, "bpd": result["bpd"], "count": result["count"],
         "init_bpd": init_bpd, "bound": bound,
         "train_bpd": train_bpd, "params": num_params, "sample_grid": str(grid_path),
         "checkpoint": str(workdir / "checkpoints" / str(config.train.steps))}
  if config.leaderboard.dir and jax.process_index() == 0:
    record = _record(config, config_file, out, step_fn, state, first,
                     wall_time=time.time() - started)
    out["record"] = str(records.write_record(config.leaderboard.dir, {**record, "workdir": str(workdir)}))
    logging.info("Leaderboard record: %s", out["record"])
  writer.flush()
  return out


@functools.partial(jax.jit, static_argnums=(0, 2))
def _sample(model, variables, num, temperature, rng):
  return model.apply(variables, num, temperature=temperature, rngs={"sample": rng},
                     method="sample")


def sample(model, variables, num, temperature, rng):
  """uint8 [num, H, W, C] drawn at `temperature`."""
  return np.asarray(_sample(model, variables, num, temperature, rng))


def _record(config, config_file, out, step_fn, state, first_batch, wall_time):
  """The leaderboard record of a finished run (schema: flowzoo/records.py)."""
  flops_per_step = flops.flops(step_fn, state, first_batch)
  file, _, arg = (config_file or "").partition(":")
  return dict(
      model=config.model.name, config_file=file or None, config_arg=arg or None,
      config=config.to_dict(), config_hash=records.config_hash(config.to_dict()),
      dataset=config.data.name, split=config.data.eval_split,
      corruption=config.data.corruption, bpd=out["bpd"], bound=out["bound"],
      train_bpd=out["train_bpd"], params=out["params"], steps=config.train.steps,
      examples_seen=config.train.steps * config.train.batch_size,
      train_flops=flops_per_step * config.train.steps, train_flops_method=flops.METHOD,
      wall_time_s=wall_time, devices=jax.device_count(),
      checkpoint=out["checkpoint"], flowzoo_version=flowzoo.__version__,
      git_commit=records.git_commit(), date=records.utc_now(), sample_grid=out["sample_grid"])
