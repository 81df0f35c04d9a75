"""A small TarFlow on the embedded flowzoo_shapes dataset: trains offline in minutes on 2 CPU cores.

    python -m flowzoo.main --config=configs/tarflow_quickstart.py
    python -m flowzoo.main --config=configs/tarflow_quickstart.py:conditional  # by shape kind

The architecture of the paper (arXiv 2412.06329) at toy size, as the release's own toy
run (train_local.ipynb: patch 4, width 128, 4 flows, lr 2e-3): 4 flows of 2 layers of
width 128 on 8x8 tokens of 4x4x3 pixels, 1,693,568 parameters; uniform dequantization,
so its bpd is a bound comparable with the other quickstarts'. The release's optimizer
(configs/tarflow_imagenet64.py) with the toy run's learning rate. Measured: test bpd
4.11 after the 600 steps of 32 images; 0.4-0.8 s a step on 2 CPU cores shared with
other jobs (10 min 52 s wall for the whole run, 4 min 47 s of CPU time).
"""
from flowzoo.config import base_config, parse_arg


def get_config(arg=None):
  arg = parse_arg(arg, conditional=False)
  config = base_config("tarflow")
  config.model.update(patch_size=4, width=128, num_flows=4, layers_per_flow=2,
                      noise="uniform",
                      backprop="store")  # tiny activations: recomputing them only costs time
  config.data.update(name="flowzoo_shapes/rgb", shape=(32, 32, 3))
  config.train.update(batch_size=32, steps=600, optimizer="adamw", lr=2e-3, b2=0.95,
                      weight_decay=1e-4, warmup_steps=60, grad_clip=0.0, log_every=50)
  config.eval.update(batch_size=500)
  config.checkpoint.every_steps = 200
  config.sample.num = 64
  if arg.conditional:
    # Class-conditional on the shape kinds, with the release's label dropout (0.1), so
    # the grid can be guided (python -m flowzoo.sample --guidance=2.0).
    config.model.num_classes = 5  # disc, square, triangle, ring, stripes
    config.data.labels = True
    config.train.label_dropout = 0.1
  return config
