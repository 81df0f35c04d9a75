"""Image grids as PNG files."""
import io

import numpy as np
from etils import epath
from PIL import Image


def grid(images, rows=None):
  """uint8 [N, H, W, C] -> one uint8 image with the N images on a near-square grid."""
  n, h, w, c = images.shape
  rows = rows or int(np.floor(np.sqrt(n)))
  cols = -(-n // rows)
  canvas = np.zeros((rows * (h + 1) + 1, cols * (w + 1) + 1, c), np.uint8)
  for i, image in enumerate(images):
    r, q = divmod(i, cols)
    canvas[1 + r * (h + 1):1 + r * (h + 1) + h, 1 + q * (w + 1):1 + q * (w + 1) + w] = image
  return canvas


def write_png(path, image):
  """Writes uint8 [H, W, C] to any etils.epath path, atomically."""
  image = np.asarray(image)
  buffer = io.BytesIO()
  Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(buffer, format="PNG")
  path = epath.Path(path)
  tmp = path.with_name(f".{path.name}.tmp")
  tmp.write_bytes(buffer.getvalue())
  tmp.replace(path)
  return path
