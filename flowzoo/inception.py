"""The Inception v3 of FID, in Flax, with its weights read from a local file.

FID (Heusel et al. 2017, arXiv 1706.08500) compares Gaussians fitted to the 2048
pool features of one network: TensorFlow's Inception v3 graph of 2015-12-05, as
the original TTUR code used it. pytorch-fid (mseitzer/pytorch-fid,
src/pytorch_fid/inception.py) ported it to torch, its weights as the release file
pt_inception-2015-12-05-6726825d.pth and its graph as torchvision's Inception3 with
patches, which this module follows layer by layer and tensor name by tensor name:
- the average pools of Mixed_5b..5d, 6b..6e and 7b leave the padding out of the
  mean (TensorFlow's pool; torch's count_include_pad=False);
- Mixed_7c pools its last branch with a max pool;
- images in [0, 1] are resized to 299x299 bilinearly (half-pixel centres, no
  antialiasing: torch's F.interpolate(align_corners=False)), then scaled to [-1, 1];
- BatchNorm uses its running statistics, eps 1e-3 (torchvision's BasicConv2d).

Why not a package: fidjax 1.0.1 cannot be installed from PyPI (its setup.py
reads a requirements.txt that its sdist lacks), and jax-fid 0.0.2 pins
numpy==1.19.5 and Pillow==7.1.2 (none for Python 3.11) and downloads its weights
from a URL when the model is set up. Here nothing is downloaded: the weights come
from the file given (config.eval.fid_weights), the .pth itself when torch is
installed, or its tensors saved under the same names as .npz or .safetensors.
"""
import functools
import hashlib
import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

# sha256 of mseitzer/pytorch-fid's release file pt_inception-2015-12-05-6726825d.pth
# (fid_weights; 95,628,359 bytes), whose name carries the hash's first 8 digits.
STANDARD_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
# The input side of the standard FID; another size gives numbers no paper can match.
STANDARD_SIZE = 299
FEATURES = 2048
_EPS = 1e-3  # torchvision BasicConv2d: BatchNorm2d(out_channels, eps=0.001)
# Tensors of the release that FID does not use: the 1008-way classifier and the
# BatchNorm counters torch keeps.
_UNUSED = ("fc.weight", "fc.bias")
_BN_NAMES = {"scale": "weight", "bias": "bias", "mean": "running_mean",
             "var": "running_var"}


class FrozenBatchNorm(nn.Module):
  """BatchNorm at inference: (x - running mean) / sqrt(running var + eps) * w + b."""

  @nn.compact
  def __call__(self, x):
    c = x.shape[-1]
    scale = self.param("scale", nn.initializers.ones, (c,))
    bias = self.param("bias", nn.initializers.zeros, (c,))
    mean = self.param("mean", nn.initializers.zeros, (c,))
    var = self.param("var", nn.initializers.ones, (c,))
    return (x - mean) * (scale * jax.lax.rsqrt(var + _EPS)) + bias


class BasicConv(nn.Module):
  """torchvision's BasicConv2d: conv without bias, BatchNorm, ReLU."""
  features: int
  kernel: tuple = (1, 1)
  strides: tuple = (1, 1)
  padding: tuple = (0, 0)  # (rows, columns), both sides

  @nn.compact
  def __call__(self, x):
    (ph, pw) = self.padding
    x = nn.Conv(self.features, self.kernel, self.strides, padding=((ph, ph), (pw, pw)),
                use_bias=False, name="conv")(x)
    return nn.relu(FrozenBatchNorm(name="bn")(x))


def _avg_pool(x):  # TensorFlow's: the padding is not counted in the mean.
  return nn.avg_pool(x, (3, 3), (1, 1), ((1, 1), (1, 1)), count_include_pad=False)


def _max_pool(x, strides=(2, 2), padding="VALID"):
  return nn.max_pool(x, (3, 3), strides, padding)


class InceptionA(nn.Module):
  pool_features: int

  @nn.compact
  def __call__(self, x):
    b1 = BasicConv(64, name="branch1x1")(x)
    b5 = BasicConv(48, name="branch5x5_1")(x)
    b5 = BasicConv(64, (5, 5), padding=(2, 2), name="branch5x5_2")(b5)
    b3 = BasicConv(64, name="branch3x3dbl_1")(x)
    b3 = BasicConv(96, (3, 3), padding=(1, 1), name="branch3x3dbl_2")(b3)
    b3 = BasicConv(96, (3, 3), padding=(1, 1), name="branch3x3dbl_3")(b3)
    bp = BasicConv(self.pool_features, name="branch_pool")(_avg_pool(x))
    return jnp.concatenate([b1, b5, b3, bp], axis=-1)


class InceptionB(nn.Module):

  @nn.compact
  def __call__(self, x):
    b3 = BasicConv(384, (3, 3), (2, 2), name="branch3x3")(x)
    bd = BasicConv(64, name="branch3x3dbl_1")(x)
    bd = BasicConv(96, (3, 3), padding=(1, 1), name="branch3x3dbl_2")(bd)
    bd = BasicConv(96, (3, 3), (2, 2), name="branch3x3dbl_3")(bd)
    return jnp.concatenate([b3, bd, _max_pool(x)], axis=-1)


class InceptionC(nn.Module):
  channels_7x7: int

  @nn.compact
  def __call__(self, x):
    c7 = self.channels_7x7
    row, col = dict(kernel=(1, 7), padding=(0, 3)), dict(kernel=(7, 1), padding=(3, 0))
    b1 = BasicConv(192, name="branch1x1")(x)
    b7 = BasicConv(c7, name="branch7x7_1")(x)
    b7 = BasicConv(c7, **row, name="branch7x7_2")(b7)
    b7 = BasicConv(192, **col, name="branch7x7_3")(b7)
    bd = BasicConv(c7, name="branch7x7dbl_1")(x)
    bd = BasicConv(c7, **col, name="branch7x7dbl_2")(bd)
    bd = BasicConv(c7, **row, name="branch7x7dbl_3")(bd)
    bd = BasicConv(c7, **col, name="branch7x7dbl_4")(bd)
    bd = BasicConv(192, **row, name="branch7x7dbl_5")(bd)
    bp = BasicConv(192, name="branch_pool")(_avg_pool(x))
    return jnp.concatenate([b1, b7, bd, bp], axis=-1)


class InceptionD(nn.Module):

  @nn.compact
  def __call__(self, x):
    b3 = BasicConv(192, name="branch3x3_1")(x)
    b3 = BasicConv(320, (3, 3), (2, 2), name="branch3x3_2")(b3)
    b7 = BasicConv(192, name="branch7x7x3_1")(x)
    b7 = BasicConv(192, (1, 7), padding=(0, 3), name="branch7x7x3_2")(b7)
    b7 = BasicConv(192, (7, 1), padding=(3, 0), name="branch7x7x3_3")(b7)
    b7 = BasicConv(192, (3, 3), (2, 2), name="branch7x7x3_4")(b7)
    return jnp.concatenate([b3, b7, _max_pool(x)], axis=-1)


class InceptionE(nn.Module):
  max_pool: bool = False  # Mixed_7c of the FID network

  @nn.compact
  def __call__(self, x):
    row, col = dict(kernel=(1, 3), padding=(0, 1)), dict(kernel=(3, 1), padding=(1, 0))
    b1 = BasicConv(320, name="branch1x1")(x)
    b3 = BasicConv(384, name="branch3x3_1")(x)
    b3 = jnp.concatenate([BasicConv(384, **row, name="branch3x3_2a")(b3),
                          BasicConv(384, **col, name="branch3x3_2b")(b3)], axis=-1)
    bd = BasicConv(448, name="branch3x3dbl_1")(x)
    bd = BasicConv(384, (3, 3), padding=(1, 1), name="branch3x3dbl_2")(bd)
    bd = jnp.concatenate([BasicConv(384, **row, name="branch3x3dbl_3a")(bd),
                          BasicConv(384, **col, name="branch3x3dbl_3b")(bd)], axis=-1)
    pooled = _max_pool(x, (1, 1), ((1, 1), (1, 1))) if self.max_pool else _avg_pool(x)
    bp = BasicConv(192, name="branch_pool")(pooled)
    return jnp.concatenate([b1, b3, bd, bp], axis=-1)


class InceptionV3(nn.Module):
  """float [B, H, W, 3] in [-1, 1] (H, W >= 75) -> [B, 2048] pool features."""

  @nn.compact
  def __call__(self, x):
    x = BasicConv(32, (3, 3), (2, 2), name="Conv2d_1a_3x3")(x)
    x = BasicConv(32, (3, 3), name="Conv2d_2a_3x3")(x)
    x = BasicConv(64, (3, 3), padding=(1, 1), name="Conv2d_2b_3x3")(x)
    x = _max_pool(x)
    x = BasicConv(80, name="Conv2d_3b_1x1")(x)
    x = BasicConv(192, (3, 3), name="Conv2d_4a_3x3")(x)
    x = _max_pool(x)
    x = InceptionA(32, name="Mixed_5b")(x)
    x = InceptionA(64, name="Mixed_5c")(x)
    x = InceptionA(64, name="Mixed_5d")(x)
    x = InceptionB(name="Mixed_6a")(x)
    for name, c7 in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160),
                     ("Mixed_6e", 192)):
      x = InceptionC(c7, name=name)(x)
    x = InceptionD(name="Mixed_7a")(x)
    x = InceptionE(name="Mixed_7b")(x)
    x = InceptionE(max_pool=True, name="Mixed_7c")(x)
    return jnp.mean(x, axis=(1, 2))


def preprocess(images, size=STANDARD_SIZE):
  """uint8 [B, H, W, C] (C 1 or 3) -> float32 [B, size, size, 3] in [-1, 1]."""
  x = images.astype(jnp.float32) / 255.0
  if x.shape[-1] == 1:  # Grey as RGB, as PIL's convert('RGB') gives pytorch-fid.
    x = jnp.repeat(x, 3, axis=-1)
  x = jax.image.resize(x, (x.shape[0], size, size, 3), "linear", antialias=False)
  return 2.0 * x - 1.0


@functools.partial(jax.jit, static_argnums=(2,))
def features(variables, images, size=STANDARD_SIZE):
  """[B, 2048] pool features of uint8 images [B, H, W, C]."""
  return InceptionV3().apply(variables, preprocess(images, size))


def _abstract():
  x = jax.ShapeDtypeStruct((1, 75, 75, 3), jnp.float32)
  return jax.eval_shape(lambda v: InceptionV3().init(jax.random.PRNGKey(0), v), x)


def random_variables(seed=0):
  """Variables of random weights (He-initialised convs, identity BatchNorm): for
  tests, where the release cannot be downloaded. Drawn with numpy: jitting the
  network's init compiles for longer than the network itself."""
  rng = np.random.default_rng(seed)
  params = {}
  for path, leaf in _leaves(_abstract()["params"]):
    if path[-1] == "kernel":
      fan_in = np.prod(leaf.shape[:3])
      value = rng.normal(0.0, np.sqrt(2.0 / fan_in), leaf.shape)
    else:
      value = np.full(leaf.shape, 1.0 if path[-1] in ("scale", "var") else 0.0)
    node = params
    for key in path[:-1]:
      node = node.setdefault(key, {})
    node[path[-1]] = value.astype(np.float32)
  return {"params": params}


def _torch_name(path):
  """('Mixed_5b', 'branch1x1', 'conv', 'kernel') -> 'Mixed_5b.branch1x1.conv.weight'."""
  *module, leaf = path
  return ".".join(module + ["weight" if leaf == "kernel" else _BN_NAMES[leaf]])


def _leaves(tree, prefix=()):
  for key, value in tree.items():
    if isinstance(value, dict):
      yield from _leaves(value, prefix + (key,))
    else:
      yield prefix + (key,), value


def state_dict(variables):
  """{torch name: array} of `variables`, as pytorch-fid's release stores them (conv
  weights OIHW): what load_variables reads back."""
  out = {}
  for path, value in _leaves(jax.device_get(variables)["params"]):
    value = np.asarray(value)
    out[_torch_name(path)] = value.transpose(3, 2, 0, 1) if path[-1] == "kernel" else value
  return out


def sha256(path):
  h = hashlib.sha256()
  with open(path, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
      h.update(chunk)
  return h.hexdigest()


def load_variables(path):
  """(variables, identity) of the weights file at `path`: every tensor of the
  network taken by its torch name and checked for shape, none left over but the
  classifier and BatchNorm counters. identity = {file, sha256, standard}."""
  from flowzoo import convert  # pylint: disable=g-import-not-at-top (imports the models)
  path = os.path.abspath(os.fspath(path))
  tensors = convert.Tensors(convert.read(path), origin=f"the FID Inception weights {path}")
  params = {}
  for leaf_path, leaf in _leaves(_abstract()["params"]):
    shape = leaf.shape
    if leaf_path[-1] == "kernel":
      shape = (shape[3], shape[2], shape[0], shape[1])
    array = tensors.take(_torch_name(leaf_path), shape).astype(np.float32)
    if leaf_path[-1] == "kernel":
      array = array.transpose(2, 3, 1, 0)
    node = params
    for key in leaf_path[:-1]:
      node = node.setdefault(key, {})
    node[leaf_path[-1]] = array
  for name in tensors.names():
    if name in _UNUSED or name.endswith(".num_batches_tracked"):
      tensors.skip(name, "FID reads the pool features; BatchNorm's counter is unused")
  tensors.check_all_taken()
  digest = sha256(path)
  return ({"params": params},
          {"file": path, "sha256": digest, "standard": digest == STANDARD_SHA256})
