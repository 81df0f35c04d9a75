"""The official DenseFlow release (github.com/matejgrcic/DenseFlow) into flowzoo's DenseFlow.

Takes the `model.state_dict()` of the release's `DenseFlow` (experiments/image/model/
dense_flow.py, built by experiments/image/model/model_flow.py `get_model`) and returns
the variables of flowzoo/models/denseflow.py. The release's layout, by module index:

  transforms.0  VariationalDequantization (denseflow/transforms/surjections/
                dequantization_variational.py) with encoder = DequantizationFlow
                (experiments/image/model/dequantization.py): base_dist (ConvNormal2d),
                transforms [Conv1x1, ConditionalCoupling] x 4, Conv1x1, Unsqueeze2d,
                Sigmoid, and context_init [scaling, DenseBlock, 2x2 conv, DenseBlock]
  transforms.1  ScalarAffineBijection(shift=-0.5)
  transforms.2  Squeeze2d
  transforms.3, 5, ...  InvertibleDenseBlock (experiments/image/model/flow_modules.py):
                blocks.<unit>.transforms.<module>.transforms.{0: ActNormBijection2d,
                1: Conv1x1, 2: SingleAffineCoupling (affine_coupling.py, its net DNMH),
                3: SwitchChannels}, and noise_params.<unit - 1> (_BNReLUConv, g)
  transforms.4, 6, ...  InvertibleTransition (squeeze, keep the first half)
  base_dist     ConvNormal2d

Conventions that the mapping relies on, each checked by tests/test_convert_denseflow.py
against the release's own outputs (tests/data/parity/denseflow_official_small.npz):
  - conv weights are OIHW and flax kernels HWIO; every 3x3 conv pads 1 on each side,
    which is flowzoo's 'SAME';
  - the coupling nets end in ElementwiseParams2d(2, mode='sequential'): channel 2k is
    the raw scale and 2k + 1 the shift of transformed channel k, exactly how flowzoo's
    ScaleShiftCoupling reads them, so the last conv is copied as it is;
  - g of the cross-unit coupling chunks its output into (mu, raw scale) halves, as
    flowzoo's CrossUnitCoupling reads them: copied as it is too;
  - the gated conv chunks its output into (a, b, c) thirds, as flowzoo's GatedConv;
  - Nystrom attention's qkv conv output is reshaped raw from NCHW memory; flowzoo's
    NystromAttention reproduces that order, so its convs are copied as they are;
  - ActNorm is z = (x - shift) exp(-log_scale) in the release and
    (x + bias) exp(logscale) in flowzoo: bias = -shift, logscale = -log_scale;
  - Conv1x1 computes z_o = sum_i W[o, i] x_i, flowzoo's Conv1x1 kernel[o, i] likewise;
  - BatchNorm2d's weight, bias, running mean and variance are flax's scale, bias and
    batch_stats mean, var (momentum 0.1 in torch is flax's 0.9).
Buffers that hold constants the flowzoo model has built in are read and checked to hold
them: a checkpoint whose buffers differ is of another model, and converting it would
change what it computes without a word.
"""
import numpy as np

from flowzoo.bijectors.actnorm import ActNorm

# The release hard-codes these; flowzoo's DenseFlow does too.
DEQUANT_STEPS = 4        # DequantizationFlow(num_steps=4)
CONTEXT_DEPTH = 4        # the context net's DenseBlocks: depth=4, growth=16
CONTEXT_GROWTH = 16
LANDMARKS = 4            # MultiHeadDenseBlock: NystromAttention(c, c // 2, 4)


def to_variables(tensors, model_config, shape, abstract):
  """flowzoo DenseFlow variables ({'params', 'batch_stats'}) of the release's state_dict."""
  del abstract  # convert() checks the result against it
  cfg = model_config
  _check_config(cfg)
  h, w, c = shape
  params, stats = {}, {}
  params["dequantizer"] = _dequantizer(tensors, cfg, c)
  _constant(tensors, "transforms.0.ldj_per_dim", (), -np.log(2.0**cfg.num_bits),
            "-ln 2^num_bits per dimension, the bin width of the dequantization")
  # flowzoo's dequantizer maps to (x + u) / 2^b - 1/2 in one step (offset -0.5).
  _constant(tensors, "transforms.1._shift", (), -0.5, "the data shift to [-1/2, 1/2]")
  _constant(tensors, "transforms.1._scale", (), 1.0, "no data scaling after dequantization")

  flow_params, flow_stats = {}, {}
  gr = cfg.growth_rate
  channels, layer, t = 4 * c, 1, 3  # flowzoo's flow/layers_0 and the release's
  for b, (units, modules) in enumerate(zip(cfg.units, cfg.modules)):   # transforms.2
    bp, bs = _block(tensors, f"transforms.{t}.", units, modules, channels, gr, cfg)
    flow_params[f"layers_{layer}"], flow_stats[f"layers_{layer}"] = bp, bs
    channels += (units - 1) * gr
    if b < len(cfg.units) - 1:
      # StandardNormal's buffer only carries the device and dtype to sample on; it is
      # zeros(1) as constructed.
      _constant(tensors, f"transforms.{t + 1}.dist.buffer", (1,), 0.0,
                "InvertibleTransition's StandardNormal buffer")
      channels *= 2
      layer, t = layer + 2, t + 2
  params["flow"], stats["flow"] = flow_params, flow_stats
  params["prior"] = _channel_normal(tensors, "base_dist.", channels)
  return {"params": params, "batch_stats": stats}


def _check_config(cfg):
  """The release builds one kind of DenseFlow; other configs have no release weights."""
  fixed = dict(dequantization="variational", augmentation=True, conditioned_noise=True,
               coupling_net="dense_attention", landmarks=LANDMARKS)
  for field, value in fixed.items():
    if cfg[field] != value:
      raise ValueError(f"config.model.{field}={cfg[field]!r}: the official DenseFlow release "
                       f"has {field}={value!r} only; set it to convert its weights.")


def _constant(tensors, name, shape, expected, what):
  value = tensors.take(name, shape)
  if not np.allclose(value, expected, rtol=1e-6, atol=1e-7):
    raise ValueError(f"{tensors.origin}: buffer {name!r} holds {np.ravel(value)[:4]}, but "
                     f"flowzoo's DenseFlow has {what} built in as {expected!r}; the "
                     "checkpoint is of another model.")


def _conv(tensors, name, cin, cout, k=1, bias=True):
  """A torch Conv2d (OIHW) as a flax conv (HWIO)."""
  out = {"kernel": tensors.take(name + ".weight", (cout, cin, k, k)).transpose(2, 3, 1, 0)}
  if bias:
    out["bias"] = tensors.take(name + ".bias", (cout,))
  return out


def _dense_block(tensors, prefix, cin, cout, depth, growth):
  """denseflow/nn/blocks/denseblock.py DenseBlock (gated) as flowzoo's nets.dense.DenseBlock:
  layer i is nn.{0: 1x1 conv, 2: 3x3 conv} (1, 3 are ReLUs); the gate is `<depth>.conv`."""
  out = {}
  for i in range(depth):
    width = cin + i * growth
    out[f"Conv_{2 * i}"] = _conv(tensors, f"{prefix}{i}.nn.0", width, width)
    out[f"Conv_{2 * i + 1}"] = _conv(tensors, f"{prefix}{i}.nn.2", width, growth, 3)
  out["GatedConv_0"] = {"Conv_0": _conv(tensors, f"{prefix}{depth}.conv",
                                        cin + depth * growth, 3 * cout)}
  return out


def _channel_normal(tensors, prefix, channels):
  """ConvNormal2d: loc and log_scale of shape (1, C, 1, 1)."""
  return {"mean": tensors.take(prefix + "loc", (1, channels, 1, 1)).reshape(channels),
          "log_std": tensors.take(prefix + "log_scale", (1, channels, 1, 1)).reshape(channels)}


def _dequantizer(tensors, cfg, c):
  p = "transforms.0.encoder."
  width, d = cfg.dequant_width, 4 * c
  flow = {}
  for k in range(DEQUANT_STEPS + 1):
    flow[f"Conv1x1_{k}"] = {"kernel": tensors.take(f"{p}transforms.{2 * k}.weight", (d, d))}
  for k in range(DEQUANT_STEPS):
    # ConditionalCoupling: DenseNet([x1 (d/2), context (width)] -> d) with a residual
    # dense block; flowzoo's ResidualDenseNet.
    q = f"{p}transforms.{2 * k + 1}.coupling_net.0.transform."
    flow[f"ScaleShiftCoupling_{k}"] = {"conditioner": {
        "Conv_0": _conv(tensors, q + "0", d // 2 + width, width),
        "DenseBlock_0": _dense_block(tensors, q + "1.dense.", width, width,
                                     cfg.dequant_depth, cfg.dequant_growth),
        "Conv_1": _conv(tensors, q + "2", width, d)}}
  # transforms.<2 steps + 1> is Unsqueeze2d (no tensors); then Sigmoid(temperature).
  _constant(tensors, f"{p}transforms.{2 * DEQUANT_STEPS + 2}.temperature", (1,), 1.0,
            "the sigmoid of the dequantization flow without temperature")
  # context_init.0 is the scaling 2 x / (2^b - 1) - 1, which flowzoo's
  # VariationalDequantization applies before its context net.
  q = f"{p}context_init."
  context = {
      "DenseBlock_0": _dense_block(tensors, q + "1.", c, width, CONTEXT_DEPTH, CONTEXT_GROWTH),
      "Conv_0": _conv(tensors, q + "2", width, width, 2),
      "DenseBlock_1": _dense_block(tensors, q + "3.", width, width, CONTEXT_DEPTH,
                                   CONTEXT_GROWTH)}
  return {"base": _channel_normal(tensors, p + "base_dist.", d), "context": context,
          "flow": flow}


def _coupling_net(tensors, prefix, channels, cfg):
  """DNMH -> DenseNetMultihead(num_blocks=1) as flowzoo's DenseAttentionNet.

  transform.0 projects to the width, transform.1 is MultiHeadDenseBlock (mha, dense,
  mix_conv = [BatchNorm2d, ReLU, 1x1 conv without bias]), transform.2 the output conv."""
  width = cfg.coupling_width
  cin, cout = (channels + 1) // 2, 2 * (channels // 2)  # torch.chunk: ceil half conditions
  q = prefix + "1."
  bn = q + "mix_conv.0."
  # momentum 0.1 (torch's default) never reads the counter: only momentum=None would.
  tracked = tensors.take(bn + "num_batches_tracked", ())
  if not (np.issubdtype(tracked.dtype, np.integer) and tracked >= 0):
    raise ValueError(f"{tensors.origin}: {bn + 'num_batches_tracked'!r} is {tracked!r}, "
                     "not a count of batches.")
  params = {
      "Conv_0": _conv(tensors, prefix + "0", cin, width),
      "NystromAttention_0": {"Conv_0": _conv(tensors, q + "mha.qkv", width, 3 * (width // 2)),
                             "Conv_1": _conv(tensors, q + "mha.out_transform", width // 2,
                                             width)},
      "DenseBlock_0": _dense_block(tensors, q + "dense.", width, width, cfg.dense_layers,
                                   cfg.dense_growth),
      "BatchNorm_0": {"scale": tensors.take(bn + "weight", (2 * width,)),
                      "bias": tensors.take(bn + "bias", (2 * width,))},
      "Conv_1": _conv(tensors, q + "mix_conv.2", 2 * width, width, bias=False),
      "Conv_2": _conv(tensors, prefix + "2", width, cout)}
  stats = {"BatchNorm_0": {"mean": tensors.take(bn + "running_mean", (2 * width,)),
                           "var": tensors.take(bn + "running_var", (2 * width,))}}
  return params, stats


def _module(tensors, prefix, channels, cfg):
  """[ActNormBijection2d, Conv1x1, SingleAffineCoupling, SwitchChannels] as GlowLikeModule."""
  _constant(tensors, prefix + "0.initialized", (1,), 1.0,
            "ActNorm initialised once, in Module.init: an uninitialised release ActNorm "
            "would re-initialise itself on its first training batch")
  shift = tensors.take(prefix + "0.shift", (1, channels, 1, 1)).reshape(channels)
  log_scale = tensors.take(prefix + "0.log_scale", (1, channels, 1, 1)).reshape(channels)
  net, stats = _coupling_net(tensors, prefix + "2.coupling_net.0.dn.transform.", channels, cfg)
  params = {
      # flowzoo stores logscale / logscale_factor (1 in GlowLikeModule's ActNorm).
      "ActNorm_0": {"bias": -shift, "logscale": -log_scale / ActNorm.logscale_factor},
      "Conv1x1_0": {"kernel": tensors.take(prefix + "1.weight", (channels, channels))},
      "ScaleShiftCoupling_0": {"conditioner": net}}
  return params, {"ScaleShiftCoupling_0": {"conditioner": stats}}


def _stack(trees):
  """The modules of a unit on a leading axis, as fb.Repeat's nn.scan stores them."""
  if isinstance(trees[0], dict):
    return {k: _stack([t[k] for t in trees]) for k in trees[0]}
  return np.stack(trees)


def _block(tensors, prefix, units, modules, channels, gr, cfg):
  params, stats = {}, {}
  g_in = channels  # g of unit i sees the block input and the outputs of units 0..i-2
  for i in range(units):
    width = channels + i * gr
    mods = [_module(tensors, f"{prefix}blocks.{i}.transforms.{j}.transforms.", width, cfg)
            for j in range(modules)]
    params[f"unit{i}"] = {"steps": {"layer": _stack([m[0] for m in mods])}}
    stats[f"unit{i}"] = {"steps": {"layer": _stack([m[1] for m in mods])}}
    if i > 0:
      # _BNReLUConv: transformation.{0: 3x3 conv to 4 g_in, 1: ReLU, 2: 1x1 conv to 2 gr}.
      q = f"{prefix}noise_params.{i - 1}.transformation."
      params[f"cross_unit{i}"] = {"conditioner": {
          "Conv_0": _conv(tensors, q + "0", g_in, 4 * g_in, 3),
          "Conv_1": _conv(tensors, q + "2", 4 * g_in, 2 * gr)}}
      g_in += width - gr  # the output of unit i-1 joins g's input of unit i+1
  return params, stats
