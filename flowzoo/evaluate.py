"""The one evaluator: bits per dimension over a whole split, for every backbone.

    python -m flowzoo.evaluate --workdir=runs/df_c10 [--config.eval.num_samples=1000]
        [--config.eval.batch_size=50] [--config.data.data_dir=...] [--step=N]

evaluates a run's checkpoint (one trained by flowzoo.main, or released weights
converted by flowzoo.convert) over the whole evaluation split and writes a
leaderboard record that says where the weights came from. The model is the one
in WORKDIR/config.json; --config.eval.* and --config.data.* (where the data is,
which split) may be overridden, the model and dataset may not.

With K = config.eval.num_samples the bound is log (1/K) sum_k p_k, each p_k with
fresh dequantization and augmentation noise: K = 1 is the single-sample bound
(ELBO), K > 1 the importance-weighted bound (IWBO, Burda et al. 2016), which is
tighter and converges to log P(x) as K grows. Every image of the split counts
exactly once: the data layer pads the last batch and masks the padding.
"""
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from flowzoo import checkpoint, config as config_lib, console, data, inception, models
from flowzoo import paths, provenance, records, sampling
from flowzoo.models.base import bits_per_dim


def eval_key(seed):
  """The key of every evaluation of a run: the trainer's final evaluation and this
  command's of the same checkpoint and bound draw the same noise."""
  return jax.random.fold_in(jax.random.PRNGKey(seed), -1 % 2**31)


def log_likelihood_bound(model, variables, images, rng, num_samples, labels=None):
  """[B] nats: log (1/K) sum_k p_k, the K samples evaluated one after another."""
  def one(key):
    return model.apply(variables, images, labels=labels, rngs=models.rngs(key),
                       method="log_prob")
  log_p = jax.lax.map(one, jax.random.split(rng, num_samples))
  return jax.nn.logsumexp(log_p, axis=0) - jnp.log(float(num_samples))


def make_eval_step(model, shape, num_samples, mesh):
  """Jitted (variables, images, mask, labels or None, rng) -> (sum of bpd over
  unmasked, count)."""
  def step(variables, images, mask, labels, rng):
    bound = log_likelihood_bound(model, variables, images, rng, num_samples, labels)
    bpd = bits_per_dim(bound, shape)
    return jnp.sum(jnp.where(mask, bpd, 0.0)), jnp.sum(mask)

  replicated, batch = NamedSharding(mesh, P()), NamedSharding(mesh, P("data"))
  return jax.jit(step, in_shardings=(replicated, batch, batch, batch, replicated),
                 out_shardings=replicated)


def evaluate(eval_step, variables, batches, rng, mesh, *, total=None, what="evaluation",
             every_seconds=30.0):
  """Mean bpd over every unmasked image of `batches` ((images, mask) per process, or
  (images, mask, labels) for a class-conditional model).

  With `total` (images in the split), a long evaluation reports its progress.
  """
  sharding = NamedSharding(mesh, P("data"))
  progress = console.Progress(what, total, every_seconds=every_seconds, unit="images",
                              quiet_for=every_seconds / 2) if total else None
  sum_, count = 0.0, 0
  for i, (images, mask, *labels) in enumerate(batches):
    images, mask, labels = jax.tree.map(
        lambda x: jax.make_array_from_process_local_data(sharding, x),
        (images, mask, labels[0] if labels else None))
    s, n = eval_step(variables, images, mask, labels, jax.random.fold_in(rng, i))
    sum_, count = sum_ + float(s), count + int(n)
    if progress and count < total:
      progress.update(count, f"bpd so far {sum_ / max(count, 1):.4f}")
  return {"bpd": sum_ / max(count, 1), "count": count}


def evaluate_run(config, workdir, step=None):
  """Evaluates the checkpoint of `step` (default the latest) in workdir with config's
  eval and data fields, and writes its leaderboard record once; the result dict."""
  # -------------------------------------------------------------------------------------
  # Checks that can fail, before anything is loaded or compiled.
  # -------------------------------------------------------------------------------------
  from flowzoo import api, train  # pylint: disable=g-import-not-at-top (train imports this)
  config, workdir, batching = train.check(config_lib.with_defaults(config), workdir,
                                         sharded=("eval",))
  workdir = str(workdir)
  step = checkpoint.latest_step(workdir) if step is None else step
  dequantization = provenance.dequantization(models.build_model(config))
  bound = records.bound_name(config.eval.num_samples, dequantization)
  if config.leaderboard.dir:
    found = records.find_record(config.leaderboard.dir, workdir=workdir, steps=step,
                                bound=bound, split=config.data.eval_split,
                                where=_same_fid(config.eval))
    if found is not None:
      record = records.read_record(found)
      return {"bpd": record["bpd"], "count": record.get("images"), "bound": bound,
              "step": step, "record": str(found), "dataset": config.data.name,
              "split": config.data.eval_split, "fid": record.get("fid"),
              "finished_before": True}

  # -------------------------------------------------------------------------------------
  # Evaluate.
  # -------------------------------------------------------------------------------------
  model, variables, _ = api.load(workdir, step)
  num_params = models.count_params(variables)
  origin = checkpoint.load_origin(workdir)
  console.say(f"{config.model.name}, {num_params:,} parameters, step {step:,} of {workdir}"
              + (f"; weights converted from the {origin['source']} checkpoint "
                 f"{origin['checkpoint']}" if origin else ""))
  started = time.time()
  mesh = train.make_mesh()
  variables = jax.device_put(variables, NamedSharding(mesh, P()))
  ds = data.get_datasets(config.data, **batching, seed=config.seed,
                         process_index=jax.process_index(), process_count=jax.process_count())
  eval_step = make_eval_step(model, tuple(config.data.shape), config.eval.num_samples, mesh)
  result = evaluate(eval_step, variables, ds.eval(), eval_key(config.seed), mesh,
                    total=ds.num_eval, what=f"evaluation ({bound})")
  if not np.isfinite(result["bpd"]):
    raise FloatingPointError(f"the bpd of {workdir} at step {step:,} is {result['bpd']}: "
                             "no record written.")
  out = {**result, "bound": bound, "step": step, "record": None, "dataset": config.data.name,
         "split": config.data.eval_split}
  measured = {}
  if jax.process_index() == 0:  # The trainer's grid of this step, its speed, and FID.
    grid = checkpoint.grid_path(workdir, step)
    measured = sampling.sample_grid(model, variables, config,
                                    sampling.grid_key(config.seed), grid)
    out["fid"] = measured["fid"]
  if config.leaderboard.dir and jax.process_index() == 0:
    # What training cost, as the trainer recorded it; unknown for released weights.
    trained = records.find_record(config.leaderboard.dir, workdir=workdir, steps=step,
                                  evaluated_by=None)
    trained = records.read_record(trained) if trained else {}
    out["record"] = str(records.write_record(config.leaderboard.dir, records.run_record(
        config, workdir, step, bpd=result["bpd"], images=result["count"], bound=bound,
        train_bpd=None, params=num_params, dequantization=dequantization,
        config_file=(origin or {}).get("config_file") or str(checkpoint.config_path(workdir)),
        config_arg=None, wall_time_s=0.0, train_flops=trained.get("train_flops"),
        train_flops_method=trained.get("train_flops_method"),
        device_hours=trained.get("device_hours"), sample_grid=str(grid), **measured,
        evaluated_by="flowzoo.evaluate", eval_seconds=time.time() - started)))
  return out


def _same_fid(eval_config):
  """Whether a record holds this evaluation's FID (or, without fid_weights, any)."""
  if not eval_config.fid_weights:
    return lambda record: True
  want = dict(samples=eval_config.fid_samples, temperature=eval_config.fid_temperature,
              image_size=eval_config.fid_image_size)
  digest = inception.sha256(eval_config.fid_weights)
  return lambda record: bool(record.get("fid")) and record["fid"]["weights"]["sha256"] == (
      digest) and all(record["fid"].get(k) == v for k, v in want.items())


def _parse_flags(argv):
  """--workdir first: its config.json is what --config.FIELD overrides."""
  from absl import app, flags  # pylint: disable=g-import-not-at-top
  from ml_collections import config_flags  # pylint: disable=g-import-not-at-top
  workdir = config_lib.flag_value(argv, "workdir")
  if workdir is None:
    sys.exit("flowzoo: error: --workdir=DIR is required: a run of flowzoo.main or a "
             "directory written by flowzoo.convert.")
  try:
    config = config_lib.with_defaults(checkpoint.load_config(paths.resolve(workdir)))
  except FileNotFoundError as e:
    sys.exit(f"flowzoo: error: --workdir={workdir}: {e}")
  error = config_lib.command_line_error(argv, config=config)
  if error:
    sys.exit(f"flowzoo: error: {error}")
  flags.DEFINE_string("workdir", None, "Run directory.")
  flags.DEFINE_integer("step", None, "Checkpoint step; default the latest.")
  config_flags.DEFINE_config_dict("config", config, "The run's config (its eval and data "
                                  "fields may be overridden).")
  return app.parse_flags_with_usage(argv)


def main(argv):
  from absl import app, flags  # pylint: disable=g-import-not-at-top
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  console.setup()
  with console.user_errors():
    out = evaluate_run(flags.FLAGS.config, flags.FLAGS.workdir, flags.FLAGS.step)
  if out.get("finished_before"):
    console.say("this evaluation was recorded before; nothing to do. Its result:")
  console.say(f"{out['split']} bpd {out['bpd']:.4f} on {out['count']:,} {out['dataset']} "
              f"images at step {out['step']:,}")
  console.say(f"  bpd is bits per dimension, {records.bound_description(out['bound'])}")
  if out.get("fid"):
    f = out["fid"]
    console.say(f"FID {f['value']:.2f} of {f['samples']:,} samples at temperature "
                f"{f['temperature']} against {f['reference']['images']:,} "
                f"{f['reference']['split']} images"
                + ("" if f["standard"] else " (not the standard Inception weights or size: "
                   "comparable only with FIDs of the same weights)"))
  if out["record"]:
    console.say(f"leaderboard {out['record']}")


if __name__ == "__main__":
  from absl import app  # pylint: disable=g-import-not-at-top
  app.run(main, flags_parser=_parse_flags)
