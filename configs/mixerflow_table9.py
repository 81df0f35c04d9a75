"""MixerFlow's paper runs (English, Kirchler, Lippert; arXiv 2310.16777): Table 9, one column a dataset.

    python -m flowzoo.main --config=configs/mixerflow_table9.py:imagenet64
    python -m flowzoo.main --config=configs/mixerflow_table9.py:dataset=mnist,smoke  # a minute on CPU

configs/mixerflow_{DATASET}.py name the same runs. Published: CIFAR-10 3.46 bpd with
11.34M parameters, ImageNet32 4.20, ImageNet64 3.92 with 18.90M (Table 1); Galaxy32
2.22, AnimeFaces 3.17 (Table 2); MNIST with MAF flow layers 1.22 (Table 3; 3,932,942
parameters here, the paper gives no count). Galaxy32 and AnimeFaces are not in TFDS:
folders of 32x32 images and of face crops (center-cropped to 64x64), whose path
--config.data.name=folder:PATH sets.
"""
from flowzoo.config import base_config, parse_arg, smoke

# Table 9. Every column has 30 layers with a shift layer every 4th and 4 flow layers
# per mixing flow (the model defaults, appendix A), Adam with b1 0.9, a cosine
# schedule and gradient clipping at 5.0.
#               patch hidden shift linear flow_layer batch steps    lr    b2
TABLE9 = {
    "cifar10":    (4,   128,   1,    "lu",  "affine",  512, 400_000, 1e-3, 0.999),
    "imagenet32": (4,   128,   1,    "lu",  "affine",  512, 500_000, 1e-3, 0.999),
    "imagenet64": (8,   128,   2,    "lu",  "affine",  200, 400_000, 5e-4, 0.999),
    "galaxy32":   (4,    64,   1,    "lu",  "affine",  512,  50_000, 1e-3, 0.999),
    "animefaces": (8,   128,   2,    "lu",  "affine",  200, 400_000, 5e-4, 0.99),
    "mnist":      (4,    64,   0,    "rlu", "maf",     512, 400_000, 5e-4, 0.999),
}
DATA = {
    "cifar10": dict(name="cifar10", shape=(32, 32, 3)),
    "imagenet32": dict(name="downsampled_imagenet/32x32", shape=(32, 32, 3),
                       eval_split="validation"),
    "imagenet64": dict(name="downsampled_imagenet/64x64", shape=(64, 64, 3),
                       eval_split="validation"),
    "galaxy32": dict(name="folder:data/galaxy32", shape=(32, 32, 3)),
    "animefaces": dict(name="folder:data/animefaces", shape=(64, 64, 3),
                       resize="center_crop"),
    "mnist": dict(name="mnist", shape=(28, 28, 1)),  # TFDS (or --config.data.download=True)
}


def get_config(arg=None):
  arg = parse_arg(arg, dataset="cifar10", smoke=False)
  if arg.dataset not in TABLE9:
    raise ValueError(f"config argument dataset={arg.dataset!r}: choose one of Table 9's "
                     f"columns, {', '.join(TABLE9)}.")
  patch, hidden, shift, linear, flow_layer, batch, steps, lr, b2 = TABLE9[arg.dataset]
  config = base_config("mixerflow")
  config.model.update(patch_size=patch, hidden=hidden, shift=shift, linear=linear,
                      flow_layer=flow_layer)
  config.data.update(DATA[arg.dataset])
  config.train.update(batch_size=batch, steps=steps, optimizer="adam", lr=lr, b1=0.9, b2=b2,
                      schedule="cosine", grad_clip=5.0)
  return smoke(config) if arg.smoke else config
