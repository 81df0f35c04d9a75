"""MixerFlow with MAF flow layers on MNIST (English, Kirchler, Lippert; arXiv 2310.16777): 1.22 bpd (Table 3).

    python -m flowzoo.main --config=configs/mixerflow_mnist.py

MNIST comes through TFDS (prepare it first, or add --config.data.download=True).
3,932,942 parameters; the paper gives no count for this model.
"""
from flowzoo.config import base_config


def get_config(arg=None):
  config = base_config("mixerflow")
  # Table 9, column MNIST: autoregressive (MAF) flow layers, patch size 4, hidden width
  # 64, no shift layers, RLU linear blocks, lr, betas, steps, batch. 30 layers and 4
  # flow layers per mixing flow are the defaults (appendix A); grad clip 5.0 (Table 9).
  config.model.update(patch_size=4, hidden=64, shift=0, linear="rlu", flow_layer="maf")
  config.data.update(name="mnist", shape=(28, 28, 1))
  config.train.update(batch_size=512, steps=400_000, optimizer="adam", lr=5e-4,
                      b1=0.9, b2=0.999, schedule="cosine", grad_clip=5.0)
  return config
