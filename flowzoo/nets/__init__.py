"""Conditioner networks: they are never inverted, only evaluated."""
from flowzoo.nets.resmlp import ResMLP
from flowzoo.nets.kan import KAN, KANLayer
from flowzoo.nets.made import MADE
from flowzoo.nets.vit import ViT
from flowzoo.nets.glow_net import GlowNet, ZeroConv
from flowzoo.nets.dense import DenseAttentionNet, DenseBlock, NystromAttention, ResidualDenseNet
