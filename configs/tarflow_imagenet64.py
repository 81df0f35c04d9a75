"""TarFlow on ImageNet 64x64 (Zhai et al.; arXiv 2412.06329), the apple/ml-tarflow release.

    python -m flowzoo.main --config=configs/tarflow_imagenet64.py             # likelihood, 2.99 bpd
    python -m flowzoo.main --config=configs/tarflow_imagenet64.py:generation  # class-conditional
    python -m flowzoo.main --config=configs/tarflow_imagenet64.py:smoke       # a minute on CPU

The likelihood run (README.md:44-48, "Unconditional ImageNet64 density modelling"):
patch 2, width 768, 8 flows of 8 layers, uniform dequantization, float32, batch 256,
100 epochs. Its data is the release's 'imagenet64': the original downsampled ImageNet of
van den Oord et al. (arXiv 1601.06759, which README.md:17 links; the maintainers confirm
it in apple/ml-tarflow issues #3 and #14), TFDS downsampled_imagenet/64x64, its bpd
taken on the validation split (evaluate_bpd.py:27-30 reads 'val'). The 2.99 bpd is not
comparable with numbers on the box-resized imagenet_resized/64x64.

':generation' is the class-conditional run (README.md:56-60): the same transformer on
the 1000 classes of ImageNet-1k resized from the original images (utils.py:127-145,
Resize then CenterCrop; TFDS imagenet2012, which needs the ILSVRC2012 files downloaded
by hand), Gaussian noise of sigma 0.05, 200 epochs, label dropout 0.1 for classifier-
free guidance (--drop_label, the trainer's). Its FID is measured after one denoising
step with guidance 2.3 and annealing (README.md:101-106, evaluate_fid.py:77-98).

The optimizer of every run (train.py:70-71, utils.py:28-56): AdamW (0.9, 0.95) with
weight decay 1e-4, lr 1e-4 after a linear warm-up of one epoch, cosine decay (to 1e-6
in the release, to 0 here), no gradient clipping, no EMA. The release trains the
Gaussian-noise runs in bf16 autocast (train.py:97-99).
"""
from flowzoo.config import base_config, parse_arg, smoke

IMAGENET64_TRAIN = 1_281_149  # downsampled_imagenet/64x64's train split
IMAGENET_TRAIN = 1_281_167    # ImageNet-1k (imagenet2012)'s train split


def release_recipe(config, *, batch_size, epochs, train_images):
  """train.py:70-71's optimizer over `epochs` of `train_images` (drop_last=True)."""
  epoch = train_images // batch_size
  config.train.update(
      batch_size=batch_size, steps=epochs * epoch, optimizer="adamw", lr=1e-4, b1=0.9,
      b2=0.95, weight_decay=1e-4,  # torch's AdamW decays by lr * wd, as optax.adamw
      warmup_steps=epoch, schedule="cosine", grad_clip=0.0, log_every=100)
  config.checkpoint.every_steps = epoch  # the release saves every epoch


def get_config(arg=None):
  arg = parse_arg(arg, generation=False, smoke=False)
  config = base_config("tarflow")
  config.model.update(patch_size=2, width=768, num_flows=8, layers_per_flow=8)
  config.data.update(shape=(64, 64, 3), eval_split="validation")
  if arg.generation:
    config.model.update(num_classes=1000, noise="gaussian", noise_std=0.05)
    config.data.update(name="imagenet2012", resize="center_crop", labels=True)
    config.train.label_dropout = 0.1  # README.md:56-60: --drop_label 0.1
    release_recipe(config, batch_size=256, epochs=200, train_images=IMAGENET_TRAIN)
  else:
    config.model.update(noise="uniform")
    config.data.update(name="downsampled_imagenet/64x64")
    release_recipe(config, batch_size=256, epochs=100, train_images=IMAGENET64_TRAIN)
  return smoke(config) if arg.smoke else config
