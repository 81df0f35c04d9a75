"""MixerFlow on Galaxy32 (English, Kirchler, Lippert; arXiv 2310.16777): 2.22 bpd (Table 2); not in TFDS: a folder of 32x32 images.

    python -m flowzoo.main --config=configs/mixerflow_galaxy32.py --config.data.name=folder:/path/to/galaxy32
"""
from flowzoo.config import base_config


def get_config(arg=None):
  config = base_config("mixerflow")
  # Table 9, column Galaxy32: patch size, hidden width, shift, linear block, lr,
  # betas, steps, batch. 30 layers with a shift layer every 4th and 4 flow layers
  # per mixing flow are the defaults (appendix A); grad clip 5.0 (appendix A).
  config.model.update(patch_size=4, hidden=64, shift=1, linear="lu")
  config.data.update(name="folder:data/galaxy32", shape=(32, 32, 3))
  config.train.update(batch_size=512, steps=50_000, optimizer="adam", lr=1e-3,
                      b1=0.9, b2=0.999, schedule="cosine", grad_clip=5.0)
  return config
