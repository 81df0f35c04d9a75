"""Config fields of a backbone, each declared once: on its Flax module, with its default,
its one-line meaning and its check beside it,

    patch_size: int = field(4, "ps: tokens of ps*ps*C features", at_least(1))

so that config.model is the module's fields by name (flowzoo.models derives the
defaults, the checks and the module from them). A check refuses a value with the
field's name, the value and what it must be; what spans fields, or needs the image
shape, is the module's `check_config`.
"""
import dataclasses
import math
import numbers
from typing import Any, Callable

from flowzoo.bijectors.invertible import BACKPROPS


@dataclasses.dataclass(frozen=True)
class Check:
  wants: str  # completes "config.model.<field>=<value> must be ..."
  ok: Callable[[Any], bool]

  def __call__(self, name, value):
    if not self.ok(value):
      raise ValueError(f"{name}={value!r} must be {self.wants}.")


def field(default, doc, check):
  """A config field of a backbone's module: its default, its meaning and its Check."""
  return dataclasses.field(default=default, metadata=dict(doc=doc, check=check))


def config_fields(module_class):
  """{name: dataclasses.Field} of the config fields of a module class, in order."""
  return {f.name: f for f in dataclasses.fields(module_class) if "check" in f.metadata}


def _integer(v):
  return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _number(v):
  return (isinstance(v, numbers.Real) and not isinstance(v, bool)
          and math.isfinite(v))


def at_least(n):
  return Check(f"an integer >= {n}", lambda v: _integer(v) and v >= n)


def in_range(low, high, why=""):
  return Check(f"an integer in {low}..{high}" + (f" ({why})" if why else ""),
               lambda v: _integer(v) and low <= v <= high)


positive = Check("a finite number > 0", lambda v: _number(v) and v > 0)
boolean = Check("True or False", lambda v: isinstance(v, bool))


def one_of(choices):
  choices = tuple(choices)
  return Check(f"one of {choices}", lambda v: not isinstance(v, bool) and v in choices)


def sequence_of(element):
  """A non-empty tuple (or list) whose every element passes the Check `element`."""
  return Check(f"a non-empty tuple, each element {element.wants}",
               lambda v: isinstance(v, (tuple, list)) and len(v) > 0
               and all(element.ok(e) for e in v))


def num_bits_field():
  """Every backbone's `num_bits`, one meaning for all (flowzoo.bijectors.keep_bits)."""
  return field(8, "bits per colour kept from the 8-bit data; fewer drops the low bits, as "
               "Glow's --n_bits_x", in_range(1, 8, "the data are 8-bit"))


def backprop_field(default, where):
  """Every backbone's `backprop`, one meaning for all (flowzoo.bijectors.Repeat); `where`
  says which of the backbone's layers 'invertible' covers."""
  return field(default, "what the backward pass keeps of the forward: 'store' every "
               "activation (plain autodiff), 'remat' each layer's input (recomputing the "
               "rest), 'invertible' nothing, recomputing each layer's input with its inverse "
               "(flowzoo/bijectors/invertible.py: activation memory flat in depth, gradients "
               f"off by the round-trip error); {where}", one_of(BACKPROPS))
