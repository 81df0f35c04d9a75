"""Conditioner networks: they are never inverted, only evaluated."""
from flowzoo.nets.resmlp import ResMLP
