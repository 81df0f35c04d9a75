"""MixerFlow on CIFAR-10 (English, Kirchler, Lippert; arXiv 2310.16777): 3.46 bpd with 11.34M parameters (Table 1).

    python -m flowzoo.main --config=configs/mixerflow_cifar10.py
"""
from flowzoo.config import base_config


def get_config(arg=None):
  config = base_config("mixerflow")
  # Table 9, column CIFAR-10: patch size, hidden width, shift, linear block, lr,
  # betas, steps, batch. 30 layers with a shift layer every 4th and 4 flow layers
  # per mixing flow are the defaults (appendix A); grad clip 5.0 (appendix A).
  config.model.update(patch_size=4, hidden=128, shift=1, linear="lu")
  config.data.update(name="cifar10", shape=(32, 32, 3))
  config.train.update(batch_size=512, steps=400_000, optimizer="adam", lr=1e-3,
                      b1=0.9, b2=0.999, schedule="cosine", grad_clip=5.0)
  return config
