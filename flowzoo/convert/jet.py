"""big_vision's Jet into flowzoo's Jet (google-research/big_vision, commit 0127fb6).

The conventions of the release, and where they are:
  - big_vision/models/proj/jet/jet.py, `Model`: the couplings run as one nn.scan of
    the module "couplings", so every coupling parameter is stacked on a leading axis
    of `depth` (config.model.num_couplings), in the order the couplings run. Its
    `DNN` ("dnn") is init_proj, posemb, a big_vision ViT `Encoder` ("vit") and
    final_proj, whose output is read as (bias, raw scale) in halves. flowzoo/nets/vit.py
    has the same names, shapes and split, so the map moves the tree, not the values.
  - big_vision/models/vit.py, `Encoder` with scan=False (Jet never sets it):
    encoderblock_{i}/{LayerNorm_0, MultiHeadDotProductAttention_0, LayerNorm_1,
    MlpBlock_0/Dense_0, Dense_1} and encoder_norm.
  - jet.py, `get_channels_coupling_init` / `get_spatial_coupling_init`: the 0/1 split
    matrices are params named "channel_coupling_masks-FREEZE_ME" [N, d, d] and
    "spatial_coupling_masks-FREEZE_ME" [N, T, T] (the trainer keeps the optimizer off
    them by name), a permutation where the coupling is of that kind and zero where
    it is of the other. The channel permutations are a random draw that only the
    checkpoint holds; they become flowzoo's 'consts'. The kinds are not stored:
    `Model.kinds` is cycled, as flowzoo's config.model.kinds, and the masks must agree.
  - big_vision/utils.py: a .npz holds the tree flat with '/'-joined names
    (`tree_flatten_with_names`, read back by `recover_tree`), and `load_params` takes
    the params from "params/..." when the file is a training state (with the optax
    state under "opt/..."), from "opt/target/..." in older Flax-optimizer files, and
    the whole file when only params were released. So read a training state with
    --prefix=params/ (read(path, prefix="params/")), an old one with
    --prefix=opt/target/, a params-only file with no prefix; any optimizer state left
    in is refused below rather than skipped. The Jet trainer
    (big_vision/trainers/proj/jet/train.py) writes tensorstore folders instead
    (`save_checkpoint_ts`); save their params as .npz first, e.g.
    np.savez(path, **dict(utils.tree_flatten_with_names(params)[0])).

The release has pairing couplings only: config.model.mode='masking' has other
variables (its ViT sees T tokens of d features, not T pseudo-tokens of d/2) that no
big_vision weights fill.
"""
import flax.traverse_util
import ml_dtypes
import numpy as np

from flowzoo.models import jet

# Jet's flow is Chain([Patchify, Couplings, Invert(Patchify)]): layers_1 is Couplings.
_COUPLINGS = "flow/layers_1/"
_CONDITIONER = _COUPLINGS + "couplings/coupling/conditioner/"
_CHANNEL_MASKS = "channel_coupling_masks-FREEZE_ME"
_SPATIAL_MASKS = "spatial_coupling_masks-FREEZE_ME"


def to_variables(tensors, model_config, shape, abstract):
  if model_config.mode != "pairing":
    raise ValueError(
        f"config.model.mode={model_config.mode!r}: big_vision's Jet has pairing couplings "
        "only, whose weights do not fit a masking model; set config.model.mode='pairing'.")
  for prefix in ("params/", "opt/"):
    if tensors.names(prefix):
      raise ValueError(
          f"{tensors.origin} has tensors named {prefix}...: a big_vision training state, "
          "whose optimizer state is no weights; read it with --prefix=params/ "
          "(or --prefix=opt/target/ for an old Flax-optimizer checkpoint).")
  params = {}
  for name, leaf in flax.traverse_util.flatten_dict(abstract["params"], sep="/").items():
    assert name.startswith(_CONDITIONER), name  # Jet trains nothing but its ViTs
    params[name] = _array(tensors.take("couplings/dnn/" + name[len(_CONDITIONER):],
                                       leaf.shape))
  consts = abstract["consts"]["flow"]["layers_1"]
  channel = _array(tensors.take(_CHANNEL_MASKS, consts["channel_splits"].shape))
  spatial = _array(tensors.take(_SPATIAL_MASKS, consts["spatial_splits"].shape))
  ps = model_config.patch_size
  _check_splits(channel, spatial, model_config, (shape[0] // ps, shape[1] // ps))
  params = flax.traverse_util.unflatten_dict(params, sep="/")
  consts = flax.traverse_util.unflatten_dict(
      {_COUPLINGS + "channel_splits": channel, _COUPLINGS + "spatial_splits": spatial}, sep="/")
  return {"params": params, "consts": consts}


def _array(a):
  # numpy saves bfloat16 as 2-byte void; big_vision's utils.recover_dtype views it back.
  return a.view(ml_dtypes.bfloat16) if a.dtype.kind == "V" and a.itemsize == 2 else a


def _is_permutation(m):
  return (np.isin(m, (0, 1)).all() and (m.sum(0) == 1).all() and (m.sum(1) == 1).all())


def _check_splits(channel, spatial, cfg, grid):
  """The checkpoint's split matrices must be those of the config's coupling plan."""
  plan = jet.coupling_plan(cfg.num_couplings, tuple(cfg.kinds), tuple(cfg.spatial_patterns))
  found = []
  for c, s in zip(channel, spatial):
    found.append("channels" if _is_permutation(c) and not s.any() else
                 "spatial" if _is_permutation(s) and not c.any() else "neither")
  planned = [kind for kind, _ in plan]
  if found != planned:
    raise ValueError(
        f"config.model.kinds={tuple(cfg.kinds)} makes the couplings {planned}, but the "
        f"checkpoint's split matrices make them {found} (a coupling is 'channels' where its "
        "channel mask is a permutation and its spatial mask zero, 'spatial' the other way "
        "round); set config.model.kinds to the cycle the checkpoint was trained with.")
  # The spatial splits are no draw: flowzoo's pattern must be the release's, down to
  # the order of the tokens in either half, which the position embeddings see.
  ours = np.asarray(jet.spatial_splits(plan, grid))
  for i, (_, pattern) in enumerate(plan):
    if pattern and not np.array_equal(spatial[i], ours[i]):
      known = [p for p in jet.SPATIAL_PATTERNS if np.array_equal(
          spatial[i], np.asarray(jet.spatial_splits([("spatial", p)], grid))[0])]
      what = f"the pattern {known[0]!r}" if known else f"none of {jet.SPATIAL_PATTERNS}"
      raise ValueError(
          f"config.model.spatial_patterns={tuple(cfg.spatial_patterns)} makes coupling {i} "
          f"split by {pattern!r}, but the checkpoint's spatial mask there is {what}; set "
          "config.model.spatial_patterns to the cycle the checkpoint was trained with.")
