"""Glow on CIFAR-10: the quantitative run of the openai/glow release (Kingma & Dhariwal 2018).

    python -m flowzoo.main --config=configs/glow_cifar10.py         # as released: Adamax
    python -m flowzoo.main --config=configs/glow_cifar10.py:adam    # Adam instead
    python -m flowzoo.main --config=configs/glow_cifar10.py:port    # the PyTorch port's switches
    python -m flowzoo.main --config=configs/glow_cifar10.py:smoke   # a minute on CPU

README command: train.py --problem cifar10 --n_level 3 --depth 32 --flow_permutation 2
--flow_coupling 1 --learntop --lr 0.001 --n_bits_x 8 on 8 GPUs of 64 images (width
512 by default): 44,603,604 parameters, 3.35 bpd (paper Table 2). 'port' sets the
switches of the best-known PyTorch port (rosinality/glow-pytorch): LU 1x1 convs
stored as its masked L and U matrices, no edge padding, biases instead of ActNorm in
the coupling network, a top prior over c channels of zeros, and ZeroConvs that pad
with ones: 44,095,536 parameters. python -m flowzoo.convert --source=glow reads its
state_dict into this config (flowzoo/convert/glow.py).
The release keeps a Polyak average of the weights but its train.py leaves the swap
to it commented out, so its test numbers are of the raw weights, as flowzoo's are.
"""
from flowzoo.config import base_config, parse_arg, smoke

# Glow's training recipe at 32x32, from the release (train.py and optim.py).
EPOCH = 50_000  # the release's --n_train: an "epoch" is 50,000 images on every dataset
BATCH = 512     # 8 processes x --n_batch_train 64 at the anchor size 32
RECIPE = dict(
    optimizer="adamax",  # --optimizer adamax
    lr=1e-3,             # --lr 0.001
    b1=0.9,              # --beta1
    # beta2 = 1 - 1 / train_its with train_its = ceil(50,000 / 512) = 98 (optim.py).
    b2=1.0 - 1.0 / 98,
    # lr grows linearly over --epochs_warmup 10 epochs: 500,000 images / 512.
    warmup_steps=10 * EPOCH // BATCH,
    schedule="constant",  # no decay after warmup
    grad_clip=0.0,        # the release does not clip
    batch_size=BATCH,
)
# Port switches (rosinality/glow-pytorch): LU 1x1 convolution, no edge padding,
# biases instead of ActNorm in the coupling network, a top prior over c channels of
# zeros, and ZeroConvs (coupling output, split and top priors) that pad their input
# with ones: its ZeroConv2d.forward calls F.pad(input, [1, 1, 1, 1], value=1)
# (model.py:149 at commit 97081ff). With zeros instead its weights score an image up
# to ~700 nats differently; the parameter count is the same either way.
PORT = dict(conv1x1="lu_masked", edge_padding=False, net_actnorm=False, top_zeros=1,
            zero_conv_pad=1.0)


def get_config(arg=None):
  arg = parse_arg(arg, adam=False, port=False, smoke=False)
  config = base_config("glow")
  config.model.update(levels=3, steps_per_level=32, width=512, coupling="affine",
                      learn_top=True, num_bits=8)
  if arg.port:
    config.model.update(PORT)
  config.data.update(name="cifar10", shape=(32, 32, 3), eval_split="test")
  config.train.update(RECIPE)
  if arg.adam:
    config.train.optimizer = "adam"
  # The release trains until stopped (--epochs 1000000) and the paper states no
  # length; flowzoo's budget is 2,000 epochs of CIFAR-10 at batch 512.
  config.train.steps = 2_000 * EPOCH // BATCH
  config.checkpoint.every_steps = 5_000
  return smoke(config) if arg.smoke else config
