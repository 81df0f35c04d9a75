"""Rebuilds photo_crops.png, the natural-photo fixture of tests/test_stability.py.

Run once by hand with the photos of scikit-image's wheel (not a flowzoo dependency):
  pip download --no-deps scikit-image -d /tmp/ski && cd /tmp/ski && unzip -q *.whl 'skimage/data/*'
  python tests/data/make_photo_crops.py /tmp/ski/skimage/data
Each photo is enlarged 3x (bicubic) before cropping, so that a 32x32 crop is as smooth
as a crop of a camera-resolution photo: mostly flat areas (sky, dark backgrounds) and a
few sharp edges, the data on which issue 10's quickstart run diverged.
"""
import sys

import numpy as np
from PIL import Image

# Public domain or CC0, see tests/data/README.md.
PHOTOS = ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg",
          "hubble_deep_field.jpg", "retina.jpg")
COLS, ROWS, SIZE, ZOOM = 16, 20, 32, 3


def main(src):
  photos = []
  for name in PHOTOS:
    im = Image.open(f"{src}/{name}").convert("RGB")
    photos.append(np.asarray(im.resize((im.width * ZOOM, im.height * ZOOM), Image.BICUBIC)))
  rng = np.random.default_rng(0)
  mosaic = np.zeros((ROWS * SIZE, COLS * SIZE, 3), np.uint8)
  for i in range(ROWS * COLS):
    photo = photos[i % len(photos)]
    y, x = rng.integers(photo.shape[0] - SIZE), rng.integers(photo.shape[1] - SIZE)
    r, c = divmod(i, COLS)
    mosaic[r * SIZE:(r + 1) * SIZE, c * SIZE:(c + 1) * SIZE] = photo[y:y + SIZE, x:x + SIZE]
  Image.fromarray(mosaic).save("tests/data/photo_crops.png", optimize=True)


if __name__ == "__main__":
  main(sys.argv[1])
