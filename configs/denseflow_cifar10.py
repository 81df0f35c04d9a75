"""DenseFlow-74-10 on CIFAR-10, as the authors' release trains it (Grcic et al., NeurIPS 2021).

    python -m flowzoo.main --config=configs/denseflow_cifar10.py --workdir=runs/df_c10
    python -m flowzoo.main --config=configs/denseflow_cifar10.py:finetune --workdir=runs/df_c10
    python -m flowzoo.main --config=configs/denseflow_cifar10.py:smoke    # a minute on CPU

README command: train.py --epochs 400 --batch_size 64 --optimizer adamax --lr 1e-3
--gamma 0.9975 --warmup 5000 --block_conf 6 4 1 --layers_conf 5 6 20 --layer_mid_chnls
48 48 48 --growth_rate 10, then train_more.py --new_lr 2e-5 --new_epochs 420.
130,647,294 parameters (2,395,784 in the dequantization flow); 2.98 bpd (Table 1,
IWBO with 1000 samples). ':finetune' is the second stage: resumed from the same workdir,
20 more epochs at a constant 2e-5.
"""
from flowzoo.config import base_config, parse_arg, smoke


def release_recipe(config, finetune, train_images, epochs, finetune_epochs, batch_size):
  """The release's optimisation: Adamax(0.9, 0.999), no clipping, lr 1e-3 after a linear
  warmup over 5,000 steps and then constant (its per-epoch exponential decay is undone by
  the warmup scheduler, which sets the lr every step), then fine-tuning at 2e-5."""
  steps_per_epoch = train_images // batch_size
  config.train.update(optimizer="adamax", lr=1e-3, b1=0.9, b2=0.999, grad_clip=0.0,
                      warmup_steps=5_000, schedule="constant", batch_size=batch_size,
                      steps=epochs * steps_per_epoch)
  if finetune:
    config.train.update(lr=2e-5, warmup_steps=0,
                        steps=(epochs + finetune_epochs) * steps_per_epoch)
  return config


def get_config(arg=None):
  arg = parse_arg(arg, finetune=False, smoke=False)
  config = base_config("denseflow")  # DenseFlow-74-10: the model defaults
  config.data.update(name="cifar10", shape=(32, 32, 3))
  release_recipe(config, arg.finetune, train_images=50_000, epochs=400, finetune_epochs=20,
                 batch_size=64)
  config.eval.update(batch_size=50, num_samples=1000)  # README: eval_loglik.py --k 1000
  config.sample.temperature = 0.8  # the paper's temperature for samples and FID
  return smoke(config) if arg.smoke else config
