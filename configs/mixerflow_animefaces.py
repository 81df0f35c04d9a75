"""MixerFlow on AnimeFaces (English, Kirchler, Lippert; arXiv 2310.16777): 3.17 bpd (Table 2); not in TFDS: a folder of face crops, resized to 64x64.

    python -m flowzoo.main --config=configs/mixerflow_animefaces.py --config.data.name=folder:/path/to/animefaces
"""
from flowzoo.config import base_config


def get_config(arg=None):
  config = base_config("mixerflow")
  # Table 9, column AnimeFaces: patch size, hidden width, shift, linear block, lr,
  # betas, steps, batch. 30 layers with a shift layer every 4th and 4 flow layers
  # per mixing flow are the defaults (appendix A); grad clip 5.0 (appendix A).
  config.model.update(patch_size=8, hidden=128, shift=2, linear="lu")
  config.data.update(name="folder:data/animefaces", shape=(64, 64, 3), resize="center_crop")
  config.train.update(batch_size=200, steps=400_000, optimizer="adam", lr=5e-4,
                      b1=0.9, b2=0.99, schedule="cosine", grad_clip=5.0)
  return config
