"""apple/ml-tarflow's state_dict into flowzoo's TarFlow (commit 313120e, transformer_flow.py).

The conventions of the release, and where they are:
  - `Model.blocks.{i}` (l.271-284) is flow i, in the order the flows run; flowzoo
    stacks the flows' parameters on a leading axis in that order (one nn.scan).
  - a flow (`MetaBlock`, l.136-151): proj_in (Linear d -> ch), pos_embed [T, ch],
    class_embed [classes, 1, ch] when num_classes > 0, attn_blocks.{l}: attention.norm,
    attention.qkv (Linear ch -> 3ch), attention.proj, mlp.norm, mlp.main.0 (Linear
    ch -> 4ch), mlp.main.2 (back), then proj_out (Linear ch -> 2d). torch's Linear
    weight is [out, in], a Flax kernel its transpose; LayerNorm weight is Flax's scale.
  - buffers: `attn_mask` [T, T] of every flow is tril(ones) (l.151), which flowzoo's
    causal attention computes; `var` [T, d] is the prior variance, ones and unused by
    the affine (nvp=True) flows every release config has (l.285-286, 328), learned
    only by the volume-preserving variant, which flowzoo does not implement. Both are
    read and checked, never silently dropped.
  - the head width is not stored: MetaBlock's head_dim (64 in every release config,
    l.131) must be config.model.head_dim, as the qkv split into heads depends on it.
"""
import flax.traverse_util
import numpy as np

_NET = "flow/flows/flow/net/"
# flowzoo's names inside a flow's transformer -> the release's.
_RENAME = {"fc1": "main.0", "fc2": "main.2", "scale": "weight", "kernel": "weight"}


def _torch_name(flow, path):
  parts = []
  for part in path.split("/"):
    if part.startswith("blocks_"):
      parts += ["attn_blocks", part[len("blocks_"):]]
    else:
      parts.append(_RENAME.get(part, part))
  return f"blocks.{flow}." + ".".join(parts)


def _from_torch(path, array):
  """A release tensor of one flow in flowzoo's layout."""
  if path.endswith("kernel"):
    return array.T
  if path.endswith("class_embed"):
    return array[:, 0]
  return array


def _torch_shape(path, shape):
  """The release's shape of a flowzoo leaf of one flow."""
  if path.endswith("kernel"):
    return shape[::-1]
  if path.endswith("class_embed"):
    return (shape[0], 1, shape[1])
  return shape


def to_variables(tensors, model_config, shape, abstract):
  num_flows, classes = model_config.num_flows, model_config.num_classes
  if not classes and "blocks.0.class_embed" in tensors:
    found = tensors.take("blocks.0.class_embed").shape[0]
    raise ValueError(f"{tensors.origin} is of a class-conditional TarFlow (blocks.0.class_embed "
                     f"holds {found} classes); set config.model.num_classes={found}.")
  h, w, c = shape
  p = model_config.patch_size
  tokens = (h // p) * (w // p)
  if not np.all(tensors.take("var", (tokens, p * p * c)) == 1):
    raise ValueError(f"{tensors.origin}: the prior variance 'var' is not all ones, so the "
                     "checkpoint is of the volume-preserving variant (nvp=False), which "
                     "flowzoo's TarFlow does not implement.")
  params = {}
  for name, leaf in flax.traverse_util.flatten_dict(abstract["params"], sep="/").items():
    assert name.startswith(_NET), name  # the flows' transformers are all TarFlow trains
    path = name[len(_NET):]
    params[name] = np.stack([
        _from_torch(path, tensors.take(_torch_name(i, path), _torch_shape(path, leaf.shape[1:])))
        for i in range(num_flows)])
  causal = np.tril(np.ones((tokens, tokens)))
  for i in range(num_flows):
    if not np.array_equal(tensors.take(f"blocks.{i}.attn_mask", causal.shape), causal):
      raise ValueError(f"{tensors.origin}: blocks.{i}.attn_mask is not the causal mask "
                       "tril(ones(T, T)) that every TarFlow flow has; the checkpoint is not "
                       "of apple/ml-tarflow's TarFlow.")
  return {"params": flax.traverse_util.unflatten_dict(params, sep="/")}
