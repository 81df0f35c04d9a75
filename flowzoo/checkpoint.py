"""A run's directory: its layout, Orbax checkpoints of the train state, its config and result.

Every file of a workdir is named here and nowhere else:

  config.json          the config the run was started with (`config_path`)
  checkpoints/<step>/  Orbax checkpoints (`step_path`); the CheckpointManager writes
                       each under a temporary name and renames it when complete, so a
                       pre-empted save never leaves a checkpoint that looks finished
  result.json          once the run has been evaluated and reported: what a second
                       invocation prints instead of doing the work again (`result_path`)
  weights.json         for a run started from released weights (flowzoo.convert):
                       where they came from, which every record of it repeats
                       (`origin_path`)
  samples_<step>.png   the sample grid of a step's checkpoint (`grid_path`)
  sample_T<t>.png      flowzoo.sample's default output (`samples_path`)
  tensorboard/         the trainer's metrics (`tensorboard_dir`)
  train_time.json      the device time of each segment of the run (`train_time_path`)
  sweep.log            a sweep member's output (`sweep_log_path`)
"""
import json

import jax
import ml_collections
import orbax.checkpoint as ocp
from etils import epath

from flowzoo import paths

# What a checkpoint's variables depend on: a run may change its schedule or
# evaluation on resumption, but not these. Checked in this order, so that a run
# of another backbone is named by model.name rather than by a field it lacks.
_IDENTITY_FIELDS = ("model.name", "data.name", "data.shape", "model", "data.corruption",
                    "data.corruption_seed", "data.corruption_patch")
# Fields of config.model that say how gradients are computed, not what the variables
# are: a run may resume with another (e.g. backprop='invertible' to fit a larger batch).
_FREE_FIELDS = ("model.backprop",)


def config_path(workdir):
  return epath.Path(workdir) / "config.json"


def result_path(workdir):
  return epath.Path(workdir) / "result.json"


def origin_path(workdir):
  return epath.Path(workdir) / "weights.json"


def checkpoints_dir(workdir):
  # Orbax (0.12 on) refuses a relative directory.
  return epath.Path(paths.resolve(workdir)) / "checkpoints"


def step_path(workdir, step):
  return checkpoints_dir(workdir) / str(step)


def grid_path(workdir, step):
  return epath.Path(workdir) / f"samples_{step}.png"


def samples_path(workdir, temperature):
  return epath.Path(workdir) / f"sample_T{temperature}.png"


def tensorboard_dir(workdir):
  return epath.Path(workdir) / "tensorboard"


def train_time_path(workdir):
  return epath.Path(workdir) / "train_time.json"


def sweep_log_path(workdir):
  return epath.Path(workdir) / "sweep.log"


def _write_atomically(path, text):
  path.parent.mkdir(parents=True, exist_ok=True)
  tmp = path.with_name(f".{path.name}.tmp")
  tmp.write_text(text)
  tmp.replace(path)


def save_config(workdir, config):
  _write_atomically(config_path(workdir), config.to_json_best_effort(indent=2, sort_keys=True))


def save_result(workdir, result):
  """Marks the run finished: its final metrics and where its outputs went."""
  _write_atomically(result_path(workdir), json.dumps(result, indent=2, sort_keys=True) + "\n")


def finished_result(workdir, steps):
  """The result of the run in workdir if it finished all `steps` and was reported, else
  None. The final checkpoint alone is not enough: a run pre-empted during its final
  evaluation has it too."""
  path = result_path(workdir)
  result = json.loads(path.read_text()) if path.exists() else None
  return result if result is not None and result["step"] == steps else None


def save_origin(workdir, origin):
  """Records where the run's starting weights came from (a dict, see flowzoo.convert)."""
  _write_atomically(origin_path(workdir), json.dumps(origin, indent=2, sort_keys=True) + "\n")


def load_origin(workdir):
  """Where the run's starting weights came from, or None for weights flowzoo initialised."""
  path = origin_path(workdir)
  return json.loads(path.read_text()) if path.exists() else None


def load_config(workdir):
  path = config_path(workdir)
  if not path.exists():
    raise FileNotFoundError(f"{workdir} holds no flowzoo run: {path} is missing.")
  return ml_collections.ConfigDict(json.loads(path.read_text()))


def _flatten(d, prefix=""):
  out = {}
  for k, v in d.items():
    if isinstance(v, dict):
      out.update(_flatten(v, f"{prefix}{k}."))
    else:
      out[f"{prefix}{k}"] = list(v) if isinstance(v, (list, tuple)) else v
  return out


def check_same_run(workdir, config):
  """Raises ValueError if workdir holds a run whose variables another config made."""
  if not config_path(workdir).exists():
    return
  saved = _flatten(load_config(workdir).to_dict())
  current = _flatten(json.loads(config.to_json_best_effort()))
  keys = sorted(set(saved) | set(current))
  for identity in _IDENTITY_FIELDS:
    for key in (k for k in keys if (k == identity or k.startswith(identity + "."))
                and k not in _FREE_FIELDS):
      if saved.get(key) != current.get(key):
        raise ValueError(
            f"{workdir} holds a run with config.{key}={saved.get(key)!r}, but this config "
            f"has {current.get(key)!r}: its checkpoints cannot be restored into this "
            "model. Use another --workdir, or the config the run was started with.")


def manager(workdir, keep):
  options = ocp.CheckpointManagerOptions(max_to_keep=keep, enable_async_checkpointing=True)
  return ocp.CheckpointManager(checkpoints_dir(workdir), options=options)


def latest_step(workdir):
  """The step of the latest checkpoint in workdir; FileNotFoundError when there is none."""
  mngr = ocp.CheckpointManager(checkpoints_dir(workdir))
  step = mngr.latest_step()
  mngr.close()
  if step is None:
    raise FileNotFoundError(f"{workdir} holds no checkpoint yet.")
  return step


def restore(mngr, abstract_state, step=None):
  """The state at `step` (default the latest), placed as abstract_state's shardings."""
  step = mngr.latest_step() if step is None else step
  return mngr.restore(step, args=ocp.args.StandardRestore(abstract_state))


def save(mngr, step, state):
  mngr.save(step, args=ocp.args.StandardSave(state))


def abstract(tree, sharding):
  """ShapeDtypeStructs of `tree` (arrays or structs) placed with `sharding`."""
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding), tree)

