"""MixerFlow on ImageNet32 (English, Kirchler, Lippert; arXiv 2310.16777): 4.20 bpd (Table 1).

    python -m flowzoo.main --config=configs/mixerflow_imagenet32.py
"""
from flowzoo.config import base_config


def get_config(arg=None):
  config = base_config("mixerflow")
  # Table 9, column ImageNet32: patch size, hidden width, shift, linear block, lr,
  # betas, steps, batch. 30 layers with a shift layer every 4th and 4 flow layers
  # per mixing flow are the defaults (appendix A); grad clip 5.0 (appendix A).
  config.model.update(patch_size=4, hidden=128, shift=1, linear="lu")
  config.data.update(name="downsampled_imagenet/32x32", shape=(32, 32, 3), eval_split="validation")
  config.train.update(batch_size=512, steps=500_000, optimizer="adam", lr=1e-3,
                      b1=0.9, b2=0.999, schedule="cosine", grad_clip=5.0)
  return config
