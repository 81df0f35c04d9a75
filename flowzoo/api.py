"""Loading a trained run back into Python."""
import jax

from flowzoo import checkpoint, models, optim, paths


def load(workdir, step=None):
  """(model, variables, config) of the latest (or given) checkpoint in workdir.

  The model is rebuilt from the config saved in the workdir, so a checkpoint is
  always read with the architecture that wrote it.
  """
  from flowzoo import train  # The trainer's state layout is the checkpoint layout.
  workdir = paths.resolve(workdir)
  config = checkpoint.load_config(workdir)
  model = models.build_model(config)
  tx = optim.make(config.train)
  mngr = checkpoint.manager(workdir, config.checkpoint.keep)
  if mngr.latest_step() is None:
    raise FileNotFoundError(f"{workdir} holds no checkpoint yet.")
  if step is not None and step not in mngr.all_steps():
    raise FileNotFoundError(f"{workdir} has no checkpoint of step {step}; it has steps "
                            f"{sorted(mngr.all_steps())}.")
  images = jax.ShapeDtypeStruct((1, *config.data.shape), "uint8")
  shapes = jax.eval_shape(lambda r, x: train.create_state(model, tx, r, x),
                          jax.random.PRNGKey(0), images)
  sharding = jax.sharding.SingleDeviceSharding(jax.devices()[0])
  state = checkpoint.restore(mngr, checkpoint.abstract(shapes, sharding), step)
  mngr.close()
  return model, state.variables, config
