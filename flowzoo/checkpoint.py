"""Orbax checkpoints of the train state, with the resolved config beside them.

The workdir holds config.json (the config the run was started with) and
checkpoints/<step>/ written by an Orbax CheckpointManager, which writes each
checkpoint under a temporary name and renames it when complete, so a pre-empted
save never leaves a checkpoint that looks finished.
"""
import json
import logging as std_logging

import jax
import ml_collections
import orbax.checkpoint as ocp
from absl import logging
from etils import epath

# What a checkpoint's variables depend on: a run may change its schedule or
# evaluation on resumption, but not these.
_IDENTITY_FIELDS = ("model", "data.name", "data.shape", "data.corruption",
                    "data.corruption_seed", "data.corruption_patch")


def config_path(workdir):
  return epath.Path(workdir) / "config.json"


def save_config(workdir, config):
  path = config_path(workdir)
  path.parent.mkdir(parents=True, exist_ok=True)
  tmp = path.with_name(".config.json.tmp")
  tmp.write_text(config.to_json_best_effort(indent=2, sort_keys=True))
  tmp.replace(path)


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
  for key in sorted(set(saved) | set(current)):
    if any(key == f or key.startswith(f + ".") for f in _IDENTITY_FIELDS):
      if saved.get(key) != current.get(key):
        raise ValueError(
            f"{workdir} holds a run with config.{key}={saved.get(key)!r}, but this config "
            f"has {current.get(key)!r}: its checkpoints cannot be restored into this "
            "model. Use another --workdir, or the config the run was started with.")


def manager(workdir, keep):
  options = ocp.CheckpointManagerOptions(max_to_keep=keep, enable_async_checkpointing=True)
  return ocp.CheckpointManager(epath.Path(workdir) / "checkpoints", options=options)


def restore(mngr, abstract_state, step=None):
  """The state at `step` (default the latest), placed as abstract_state's shardings."""
  step = mngr.latest_step() if step is None else step
  return mngr.restore(step, args=ocp.args.StandardRestore(abstract_state))


def save(mngr, step, state):
  mngr.save(step, args=ocp.args.StandardSave(state))


def abstract(tree, sharding):
  """ShapeDtypeStructs of `tree` (arrays or structs) placed with `sharding`."""
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding), tree)


def quiet_orbax_logging():
  """Keeps Orbax's per-checkpoint INFO chatter out of a command's progress log."""
  logging.get_absl_logger().addFilter(
      lambda r: r.levelno >= std_logging.WARNING or "/orbax/" not in r.pathname)
