"""A small DenseFlow on the embedded flowzoo_shapes dataset: trains offline in minutes on 2 CPU cores.

    python -m flowzoo.main --config=configs/denseflow_quickstart.py

DenseFlow's architecture at toy size: two blocks of (2, 1) units with (2, 2) modules,
growth rate 4, coupling networks of width 16 with 2 dense layers of 16: 82,384
parameters, 300 steps in about 2 minutes on 2 CPU cores (test bpd 5.28, IWBO with 8
samples). Uniform dequantization: the released variational one has 2.4M parameters
at full width, and with it a step takes about 3 s instead of 0.25 s here;
--config.model.dequantization=variational puts it back. Adamax as released, with a
short warmup and a cosine decay so that a short run ends converged.
"""
from flowzoo.config import base_config, parse_arg


def get_config(arg=None):
  parse_arg(arg)  # no options: refuses any argument
  config = base_config("denseflow")
  config.model.update(units=(2, 1), modules=(2, 2), growth_rate=4, coupling_width=16,
                      dense_layers=2, dense_growth=16, dequantization="uniform")
  config.data.update(name="flowzoo_shapes/rgb", shape=(32, 32, 3))
  config.train.update(batch_size=32, steps=300, optimizer="adamax", lr=1e-3,
                      warmup_steps=30, schedule="cosine", grad_clip=0.0, log_every=50)
  config.eval.update(batch_size=250, num_samples=8)
  config.checkpoint.every_steps = 150
  config.sample.update(num=36, temperature=0.8)
  return config
