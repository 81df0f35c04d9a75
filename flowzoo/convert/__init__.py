"""Released weights into flowzoo: a reference checkpoint read, mapped and checked.

A source module (jet.py: big_vision's Jet; glow.py: rosinality/glow-pytorch;
denseflow.py: the official DenseFlow release; tarflow.py: apple/ml-tarflow) defines

    to_variables(tensors, model_config, shape, abstract) -> variables

which takes every tensor it maps from `tensors` (a `Tensors`) by its reference name
and returns the flowzoo variables of the model of `model_config` on images of
`shape`; `abstract` is that model's variable tree of ShapeDtypeStructs. `convert`
then insists that every tensor of the checkpoint was taken and that the result has
exactly the model's leaves, shapes and dtypes: a missing, extra or misshapen tensor
is an error that names it, and nothing is skipped in silence.

Checkpoints are read from .npz, .safetensors, or torch's .pt/.pth (through
torch.load(weights_only=True), only when torch is installed: pip install
'flowzoo[torch]').
"""
import hashlib
import importlib
import os

import jax
import numpy as np

from flowzoo import checkpoint, config as config_lib, console, models, optim, paths, train

# --source -> the module that maps it, and the flowzoo backbone it maps into.
SOURCES = {
    "jet": ("flowzoo.convert.jet", "jet"),
    "glow": ("flowzoo.convert.glow", "glow"),
    "denseflow": ("flowzoo.convert.denseflow", "denseflow"),
    "tarflow": ("flowzoo.convert.tarflow", "tarflow"),
}
FORMATS = (".npz", ".safetensors", ".pt", ".pth")


def read(path, prefix=""):
  """{name: numpy array} of the checkpoint file at `path`, for the names that start with
  `prefix` (which is removed); the others are not weights and are left out."""
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"no checkpoint file {os.path.abspath(path)}.")
  ext = os.path.splitext(path)[1].lower()
  if ext == ".npz":
    with np.load(path, allow_pickle=False) as f:
      arrays = {k: f[k] for k in f.files}
  elif ext == ".safetensors":
    from safetensors.numpy import load_file
    arrays = load_file(path)
  elif ext in (".pt", ".pth"):
    arrays = _read_torch(path)
  else:
    raise ValueError(f"{path}: a checkpoint must be one of {', '.join(FORMATS)}; "
                     "save it with numpy.savez or safetensors.")
  arrays = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
  if not arrays:
    raise ValueError(f"{path} holds no tensor named {prefix}...; check --prefix.")
  return arrays


def _read_torch(path):
  try:
    import torch
  except ImportError:
    raise ValueError(f"{path} is a torch checkpoint, and torch is not installed: "
                     "pip install 'flowzoo[torch]', or save the state_dict as .npz or "
                     ".safetensors where torch is.") from None
  state = torch.load(path, map_location="cpu", weights_only=True)
  # A training checkpoint holds the state_dict beside the optimizer's: DenseFlow's
  # release saves {'model': ..., 'optimizer': ..., 'current_epoch': ...}
  # (experiments/image/eval_loglik.py reads checkpoint['model']).
  for key in ("model", "state_dict"):
    if isinstance(state, dict) and isinstance(state.get(key), dict):
      state = state[key]
      break
  if not isinstance(state, dict):
    raise ValueError(f"{path} holds a {type(state).__name__}, not a state_dict.")
  return {k: v.detach().cpu().numpy() for k, v in state.items() if isinstance(v, torch.Tensor)}


def digest(path):
  """The first 12 hex digits of the file's sha256: which weights a record came from."""
  h = hashlib.sha256()
  with open(path, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
      h.update(chunk)
  return h.hexdigest()[:12]


class Tensors:
  """The tensors of a reference checkpoint by name; each must be taken exactly once."""

  def __init__(self, arrays, origin="the checkpoint"):
    self._arrays = dict(arrays)
    self._taken = set()
    self.origin = origin

  def __contains__(self, name):
    return name in self._arrays

  def names(self, prefix=""):
    return sorted(k for k in self._arrays if k.startswith(prefix))

  def take(self, name, shape=None):
    """The array `name`, checked against `shape` (a tuple, None for any)."""
    if name not in self._arrays:
      raise ValueError(f"{self.origin} has no tensor {name!r}, which the model of this "
                       "config needs: the checkpoint is of another architecture or "
                       "size; check the config's model fields against it.")
    if name in self._taken:
      raise ValueError(f"{name!r} of {self.origin} was mapped twice (a converter bug).")
    array = np.asarray(self._arrays[name])
    if shape is not None and tuple(array.shape) != tuple(shape):
      raise ValueError(f"{self.origin}: tensor {name!r} has shape {tuple(array.shape)}, but "
                       f"the model of this config needs {tuple(shape)}; check the config's "
                       "model fields against the checkpoint.")
    self._taken.add(name)
    return array

  def skip(self, name, why):
    """Marks a tensor as read and deliberately unused (a constant buffer the model
    recomputes); `why` documents it where the converter calls this."""
    del why
    self.take(name)

  def check_all_taken(self):
    extra = sorted(set(self._arrays) - self._taken)
    if extra:
      shown = ", ".join(repr(k) for k in extra[:5]) + (f" and {len(extra) - 5} more"
                                                        if len(extra) > 5 else "")
      raise ValueError(f"{self.origin} has {len(extra)} tensor(s) the model of this config "
                       f"does not use: {shown}. The checkpoint is of a larger or other "
                       "architecture; check the config's model fields against it.")


def _paths(tree):
  return {"/".join(str(getattr(k, "key", k)) for k in path): leaf
          for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]}


def check_variables(variables, abstract, origin):
  """`variables` as numpy arrays of `abstract`'s dtypes; an error names any leaf that is
  missing, extra or of another shape."""
  got, want = _paths(variables), _paths(abstract)
  unset, unknown = sorted(set(want) - set(got)), sorted(set(got) - set(want))
  if unset or unknown:
    raise ValueError(f"converting {origin}: flowzoo variables not set: {unset[:5]}; not "
                     f"variables of this model: {unknown[:5]} (a converter bug).")
  for name, leaf in want.items():
    if tuple(np.shape(got[name])) != tuple(leaf.shape):
      raise ValueError(f"converting {origin}: flowzoo variable {name} would get shape "
                       f"{tuple(np.shape(got[name]))}, not {tuple(leaf.shape)}.")
  return jax.tree.map(lambda x, a: np.asarray(x, a.dtype), variables, abstract)


def source_module(source):
  if source not in SOURCES:
    raise ValueError(f"--source={source!r}: choose one of {sorted(SOURCES)}.")
  return importlib.import_module(SOURCES[source][0])


def convert(source, arrays, config, origin="the checkpoint"):
  """The flowzoo variables of config's model from the reference arrays of `source`."""
  module = source_module(source)
  backbone = SOURCES[source][1]
  if config.model.name != backbone:
    raise ValueError(f"--source={source} converts into the {backbone} backbone, but the "
                     f"config has model.name={config.model.name!r}; give a {backbone} config.")
  model = models.build_model(config)
  shape = tuple(config.data.shape)
  abstract = models.abstract_variables(model, shape)
  tensors = Tensors(arrays, origin)
  variables = module.to_variables(tensors, config.model, shape, abstract)
  tensors.check_all_taken()
  return check_variables(variables, abstract, origin)


def convert_to_workdir(source, checkpoint_file, config, workdir, prefix="", config_file=None):
  """Writes the converted run into `workdir` (which must hold no run): config.json, an
  Orbax checkpoint of step 0 and weights.json (the returned origin dict)."""
  config_lib.validate(config)
  config = config_lib.resolve_paths(config)
  workdir = paths.resolve(workdir)
  checkpoint_file = paths.resolve(checkpoint_file)
  if checkpoint.config_path(workdir).exists():
    raise ValueError(f"--workdir={workdir} already holds a run; converting into it would "
                     "mix two runs. Choose a new --workdir.")
  origin = dict(source=source, checkpoint=checkpoint_file, prefix=prefix,
                sha256=digest(checkpoint_file), config_file=config_file)
  arrays = read(checkpoint_file, prefix)
  console.say(f"read {len(arrays):,} tensors from {checkpoint_file}")
  variables = convert(source, arrays, config, origin=checkpoint_file)
  model = models.build_model(config)
  state = train.create_state(model, optim.make(config.train), jax.random.PRNGKey(config.seed),
                             None, variables=variables)
  console.say(f"{config.model.name}, {models.count_params(variables):,} parameters: every "
              "tensor mapped")
  mngr = checkpoint.manager(workdir, config.checkpoint.keep)
  checkpoint.save(mngr, 0, state)
  mngr.wait_until_finished()
  mngr.close()
  checkpoint.save_origin(workdir, origin)
  checkpoint.save_config(workdir, config)  # Last: a workdir with config.json is complete.
  return origin
