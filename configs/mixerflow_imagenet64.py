"""MixerFlow on ImageNet64 (English, Kirchler, Lippert; arXiv 2310.16777): 3.92 bpd with 18.90M parameters (Table 1).

    python -m flowzoo.main --config=configs/mixerflow_imagenet64.py
"""
from flowzoo.config import base_config


def get_config(arg=None):
  config = base_config("mixerflow")
  # Table 9, column ImageNet64: patch size, hidden width, shift, linear block, lr,
  # betas, steps, batch. 30 layers with a shift layer every 4th and 4 flow layers
  # per mixing flow are the defaults (appendix A); grad clip 5.0 (appendix A).
  config.model.update(patch_size=8, hidden=128, shift=2, linear="lu")
  config.data.update(name="downsampled_imagenet/64x64", shape=(64, 64, 3), eval_split="validation")
  config.train.update(batch_size=200, steps=400_000, optimizer="adam", lr=5e-4,
                      b1=0.9, b2=0.999, schedule="cosine", grad_clip=5.0)
  return config
