"""What a record says about its data and its bound: the dataset's version and the
model's dequantization, read from what the run used rather than from its config's
spelling."""
import numpy as np

from flowzoo import published


def dataset_fields(data_config):
  """{dataset_version, image_shape} of config.data: the TFDS builder's version
  (that of 'cifar10:3.0.1' if the name pins one, else the newest TFDS has), None
  for a 'folder:PATH', whose identity is its path and the shape."""
  version = None
  if not published.is_folder(data_config.name):
    from flowzoo.data import sources  # pylint: disable=g-import-not-at-top (TensorFlow)
    version = str(sources.get_source(data_config).builder.version)
  return {"dataset_version": version, "image_shape": [int(d) for d in data_config.shape]}


def _layers(module):
  """A dequantizer and, for a Chain, the layers it is made of."""
  yield module
  for layer in getattr(module, "layers", ()) or ():
    yield from _layers(layer)


def dequantization(model):
  """'uniform', 'variational' or 'gaussian(sigma=S)': the kind of the model's
  `dequantizer` (every backbone has one; see flowzoo.models.base)."""
  from flowzoo.bijectors import dequantization as dq  # pylint: disable=g-import-not-at-top
  from flowzoo.bijectors import vardequant  # pylint: disable=g-import-not-at-top
  # Binding with no variables runs setup, which builds the dequantizer.
  dequantizer = model.bind({}).dequantizer
  for layer in _layers(dequantizer):
    if isinstance(layer, vardequant.VariationalDequantization):
      return "variational"
    sigma = getattr(layer, "sigma", None)
    if sigma is not None and np.isfinite(sigma):
      return f"gaussian(sigma={float(sigma):g})"
    if isinstance(layer, dq.UniformDequantization):
      return "uniform"
  raise ValueError(f"{type(model).__name__}'s dequantizer {type(dequantizer).__name__} is "
                   "none of the kinds a record names (flowzoo/provenance.py): add it there.")
