"""Invertible layers with the contract of flowzoo/bijectors/base.py."""
from flowzoo.bijectors.actnorm import ActNorm
from flowzoo.bijectors.base import Bijector, Chain, Invert, Repeat, batch_ldj, chain, sum_except_batch
from flowzoo.bijectors.conv1x1 import Conv1x1
from flowzoo.bijectors.coupling import SCALES, AffineCoupling, Coupling, affine, log_scale
from flowzoo.bijectors.dequantization import DropBits, UniformDequantization, keep_bits
from flowzoo.bijectors.distributions import ChannelNormal, StandardNormal, normal_log_prob
from flowzoo.bijectors.invertible import BACKPROPS
from flowzoo.bijectors.linear import LULinear
from flowzoo.bijectors.maf import MaskedAutoregressive
from flowzoo.bijectors.reshape import Patchify, Squeeze, Transpose, patchify, unpatchify
from flowzoo.bijectors.spline import SplineCoupling, rational_quadratic
from flowzoo.bijectors.split import Split
