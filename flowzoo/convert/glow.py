"""rosinality/glow-pytorch's Glow state_dict -> flowzoo's Glow with the port's switches.

The port is `Glow(in_channel, n_flow, n_block, affine, conv_lu=True)` of
rosinality/glow-pytorch, model.py at commit 97081ff (the lines below are of that
file); its state_dict names are blocks.{level}.flows.{step}.{actnorm,invconv,
coupling}.* and blocks.{level}.prior.*. flowzoo computes the same function only
with the switches of configs/glow_cifar10.py's PORT, so any other config is refused.
n_block, n_flow and the coupling's filter_size are config.model.levels,
steps_per_level and width; a mismatch shows as a misshapen, missing or extra tensor.

Conventions, and what each becomes here:
  layout       torch convs are OIHW (out, in, kh, kw) and act on NCHW; flax kernels
               are HWIO on NHWC: kernel = weight.transpose(2, 3, 1, 0). Per-channel
               (1, C, 1, 1) tensors become (C,).
  ActNorm      y = scale * (x + loc), logdet H W sum log|scale| (lines 49-54);
               flowzoo's ActNorm is (x + bias) * exp(3 * logscale) with the log-scale
               stored divided by 3 (models/glow.py, as the release's actnorm): bias = loc,
               logscale = log(scale) / 3, which needs scale > 0 (a negative one flips
               the sign, which flowzoo cannot). The `initialized` buffer (line 18) must
               be 1: at 0 the port would re-initialise loc and scale from the first
               batch it sees (lines 45-47), so the stored values are not its function.
  InvConv2dLU  W = w_p @ (w_l * l_mask + l_eye) @ (w_u * u_mask + diag(s_sign *
               exp(w_s))), out_c = sum_j W[c, j] x_j, logdet H W sum w_s (lines
               119-128): flowzoo's LULinear with masked=True and rotation_init computes
               permutation @ L @ U with L = tril(lower, -1) + I and U = triu(upper, 1) +
               diag(sign * exp(logdiag)) and z_i = sum_j W[i, j] x_j, so the tensors map
               one to one (lower = w_l, upper = w_u, logdiag = w_s, and the frozen
               'consts' permutation = w_p, sign = s_sign). l_mask, u_mask and l_eye are
               constant buffers (lines 97-109) that flowzoo recomputes: they are checked
               to be the strict lower / strict upper masks and the identity. w_p must be
               a permutation matrix (flowzoo inverts it by its transpose) and s_sign +-1.
  ZeroConv2d   conv(F.pad(x, 1 each side, value=1)) * exp(3 * scale) (lines 148-151):
               flowzoo's ZeroConv with pad_value 1 (config zero_conv_pad=1) and logs =
               scale (its logscale_factor is 3 too).
  coupling     `log_s, t = net(in_a).chunk(2, 1)` (line 180): the net's output is the
               raw scale in its first half and the shift in its second; flowzoo's Glow
               reads shift at even and raw scale at odd channels (openai/glow's
               interleaving), so the last ZeroConv's output channels (weight, bias and
               scale) are permuted: flowzoo channel 2j <- port channel C/2 + j (t_j),
               2j + 1 <- port channel j (log_s_j). The conditioning half is the first
               (line 177), as flowzoo's (flip=False). Additive (affine=False): the net
               outputs t only (line 167), nothing to permute.
  split prior  `mean, log_sd = prior(kept).chunk(2, 1)` (line 285), kept = the first
               half (line 284): flowzoo's Split reads mean at even and log-std at odd
               channels, so flowzoo channel 2j <- port j (mean), 2j + 1 <- port C/2 + j.
  top prior    `prior(zeros_like(z)).chunk(2, 1)` with ZeroConv2d(c, 2c) (lines 269,
               290-291): flowzoo's GlowPrior with top_zeros=1 reads halves already.
  squeeze      channel 4c + 2 dy + dx (lines 272-275), flowzoo's Squeeze.
Steps of a level are stacked on a leading axis, as flowzoo's scanned Repeat stores them.
"""
import numpy as np

# The config.model switches under which flowzoo's Glow is the port's function.
PORT_SWITCHES = dict(conv1x1="lu_masked", edge_padding=False, net_actnorm=False,
                     top_zeros=1, zero_conv_pad=1.0, learn_top=True)


def check_config(model_config):
  """Raises ValueError naming the first config.model field that is not the port's."""
  for field, want in PORT_SWITCHES.items():
    got = model_config[field]
    if got != want:
      raise ValueError(
          f"config.model.{field}={got!r}: a rosinality/glow-pytorch checkpoint computes "
          f"its function only with {field}={want!r}; use configs/glow_cifar10.py:port-style "
          f"switches (its PORT: {', '.join(f'{k}={v!r}' for k, v in PORT_SWITCHES.items())}).")


def _hwio(weight):
  """torch OIHW -> flax HWIO."""
  return np.transpose(weight, (2, 3, 1, 0))


def _interleave(even, odd):
  """The port output channel of each flowzoo output channel, when flowzoo's even
  channels are the port's channels `even` and its odd ones the port's `odd`."""
  return np.stack([even, odd], axis=1).reshape(-1)


def _halves(c):
  return np.arange(c // 2), np.arange(c // 2, c)


def _zero_conv(tensors, name, c_in, c_out, order=None):
  """A ZeroConv2d's conv.weight, conv.bias and scale -> flowzoo ZeroConv's variables,
  its output channels taken in `order` (port channel of each flowzoo channel)."""
  weight = tensors.take(f"{name}.conv.weight", (c_out, c_in, 3, 3))
  bias = tensors.take(f"{name}.conv.bias", (c_out,))
  scale = tensors.take(f"{name}.scale", (1, c_out, 1, 1)).reshape(c_out)
  if order is not None:
    weight, bias, scale = weight[order], bias[order], scale[order]
  # Both scale the output by exp(3 * scale): flowzoo's logscale_factor is 3 as well.
  return {"Conv_0": {"kernel": _hwio(weight), "bias": bias}, "logs": scale}


def _check_constant(tensors, name, want):
  got = tensors.take(name, want.shape)
  if not np.array_equal(got, want):
    raise ValueError(f"{tensors.origin}: {name!r} is a constant buffer of InvConv2dLU "
                     "that flowzoo recomputes, but it differs from the port's value (a "
                     "modified model.py?); flowzoo cannot represent it.")


def _actnorm(tensors, name, c):
  initialized = tensors.take(f"{name}.initialized", ())
  if int(initialized) != 1:
    raise ValueError(f"{tensors.origin}: {name}.initialized is {int(initialized)}: the port "
                     "would re-initialise this ActNorm from the first batch it sees, so "
                     "its stored loc and scale are not the model's; save the state_dict "
                     "after a forward pass.")
  loc = tensors.take(f"{name}.loc", (1, c, 1, 1)).reshape(c)
  scale = tensors.take(f"{name}.scale", (1, c, 1, 1)).reshape(c).astype(np.float64)
  if not np.all(np.isfinite(scale) & (scale > 0)):
    bad = int(np.sum(~(np.isfinite(scale) & (scale > 0))))
    raise ValueError(f"{tensors.origin}: {name}.scale: {bad} of its {c} entries are not "
                     "positive and finite; flowzoo's ActNorm stores a log-scale and cannot "
                     "represent them (the port's map multiplies by the signed scale).")
  # flowzoo stores logscale / 3 (the release's reparameterisation); computed in float64
  # so that a float64 model reproduces scale to float64 rounding.
  return {"bias": loc, "logscale": np.log(scale) / 3.0}


def _invconv(tensors, name, c):
  strict_upper = np.triu(np.ones((c, c), np.float32), 1)
  _check_constant(tensors, f"{name}.u_mask", strict_upper)
  _check_constant(tensors, f"{name}.l_mask", strict_upper.T)
  _check_constant(tensors, f"{name}.l_eye", np.eye(c, dtype=np.float32))
  w_p = tensors.take(f"{name}.w_p", (c, c))
  if not (np.all((w_p == 0) | (w_p == 1)) and np.all(w_p.sum(0) == 1)
          and np.all(w_p.sum(1) == 1)):
    raise ValueError(f"{tensors.origin}: {name}.w_p is not a permutation matrix; flowzoo's "
                     "LULinear inverts it by its transpose.")
  s_sign = tensors.take(f"{name}.s_sign", (c,))
  if not np.all(np.abs(s_sign) == 1):
    raise ValueError(f"{tensors.origin}: {name}.s_sign holds values other than +-1.")
  params = {"lower": tensors.take(f"{name}.w_l", (c, c)),
            "upper": tensors.take(f"{name}.w_u", (c, c)),
            "logdiag": tensors.take(f"{name}.w_s", (c,))}
  return params, {"permutation": w_p, "sign": s_sign}


def _coupling(tensors, name, c, width, affine):
  c_out = c if affine else c // 2
  conditioner = {
      "Conv_0": {"kernel": _hwio(tensors.take(f"{name}.net.0.weight", (width, c // 2, 3, 3))),
                 "bias": tensors.take(f"{name}.net.0.bias", (width,))},
      "Conv_1": {"kernel": _hwio(tensors.take(f"{name}.net.2.weight", (width, width, 1, 1))),
                 "bias": tensors.take(f"{name}.net.2.bias", (width,))},
      # Port (log_s, t) halves -> flowzoo (shift, raw scale) interleaved: flowzoo 2j <-
      # port c/2 + j (t_j), 2j + 1 <- port j (log_s_j).
      "ZeroConv_0": _zero_conv(tensors, f"{name}.net.4", width, c_out,
                               _interleave(*_halves(c)[::-1]) if affine else None),
  }
  return {"conditioner": conditioner}


def _stack(trees):
  """The steps of one level on a leading axis, as flowzoo's scanned Repeat stores them."""
  if isinstance(trees[0], dict):
    return {k: _stack([t[k] for t in trees]) for k in trees[0]}
  return np.stack(trees)


def to_variables(tensors, model_config, shape, abstract):
  """flowzoo Glow variables from a rosinality/glow-pytorch state_dict (see the module
  docstring for each convention)."""
  del abstract  # convert() checks the result against it
  check_config(model_config)
  affine = model_config.coupling == "affine"
  levels, steps, width = (model_config.levels, model_config.steps_per_level,
                          model_config.width)
  params, consts = {"flow": {}}, {"flow": {}}
  for i in range(levels):
    c = shape[2] * 4 * 2**i  # channels after the level's squeeze (the kept half doubles)
    layer_params, layer_consts = [], []
    for k in range(steps):
      step = f"blocks.{i}.flows.{k}"
      lu_params, lu_consts = _invconv(tensors, f"{step}.invconv", c)
      layer_params.append({
          "ActNorm_0": _actnorm(tensors, f"{step}.actnorm", c),
          "LULinear_0": lu_params,
          "AffineCoupling_0": _coupling(tensors, f"{step}.coupling", c, width, affine)})
      layer_consts.append({"LULinear_0": lu_consts})
    params["flow"][f"level{i}"] = {"steps": {"layer": _stack(layer_params)}}
    consts["flow"][f"level{i}"] = {"steps": {"layer": _stack(layer_consts)}}
    if i < levels - 1:
      # ZeroConv2d(c/2, c) of the kept half; (mean, log_sd) halves -> interleaved.
      params["flow"][f"split{i}"] = {
          "prior": _zero_conv(tensors, f"blocks.{i}.prior", c // 2, c,
                              _interleave(*_halves(c)))}
    else:
      # ZeroConv2d(c, 2c) of c channels of zeros; flowzoo's top prior reads halves too.
      params["prior"] = {"top": _zero_conv(tensors, f"blocks.{i}.prior", c, 2 * c)}
  return {"params": params, "consts": consts}
