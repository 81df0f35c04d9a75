"""What a person reads: flowzoo's own lines, progress with an ETA, nothing else.

TensorFlow, TFDS, JAX, Orbax and CLU each log their own notices at INFO; a
command shows them only with --verbose (or absl's --verbosity / -v), and
TensorFlow's C++ notices only with TF_CPP_MIN_LOG_LEVEL=0 (flowzoo/__init__.py
sets it to 2 before TensorFlow is imported).
"""
import contextlib
import logging as std_logging
import math
import sys
import time

import jax
from absl import flags, logging


VERBOSE = flags.DEFINE_bool("verbose", False,
                            "Show other libraries' logs, and the traceback of an error.")

# What a user can get wrong (a config field, a path, a dataset, a run that
# diverged): one line that says what and how to fix it; the traceback only with
# --verbose.
USER_ERRORS = (ValueError, FileNotFoundError, FloatingPointError)


@contextlib.contextmanager
def user_errors():
  """Turns a USER_ERRORS exception into `flowzoo: error: ...` and exit status 1."""
  try:
    yield
  except USER_ERRORS as e:
    if VERBOSE.value:
      raise
    sys.exit(f"flowzoo: error: {e}\n(--verbose shows the traceback)")


def say(message):
  """A line for the person running the command (from process 0 only)."""
  if jax.process_index() == 0:
    print(f"flowzoo: {message}", flush=True)


def setup(verbose=None):
  """Keeps other libraries' logs out of a command's output unless --verbose."""
  if VERBOSE.value if verbose is None else verbose:
    logging.set_verbosity(logging.INFO)
    return
  verbosity = flags.FLAGS["verbosity"] if "verbosity" in flags.FLAGS else None
  if verbosity is None or not verbosity.present:
    logging.set_verbosity(logging.WARNING)
  # Orbax warns about its own housekeeping at WARNING; TFDS and TensorFlow
  # print deprecation notices at WARNING: none of it is the user's to act on.
  logging.get_absl_logger().addFilter(
      lambda r: r.levelno >= std_logging.ERROR or not any(
          f"/{lib}/" in r.pathname for lib in ("orbax", "tensorflow_datasets", "tensorflow")))
  try:
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
    tfds.disable_progress_bar()
  except ImportError:
    pass


def duration(seconds):
  """'45 s', '3 min 05 s', '2 h 07 min'."""
  seconds = int(round(seconds))
  if seconds < 60:
    return f"{seconds} s"
  if seconds < 3600:
    return f"{seconds // 60} min {seconds % 60:02d} s"
  return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class Progress:
  """Lines of `what` on a time interval: done/total, a detail, rate and ETA.

  The first line comes as soon as the first unit is done (or, with `quiet_for`,
  only once that many seconds have passed, so that quick work prints nothing);
  the ETA is the remaining units at the rate measured since the first unit,
  which may have included compilation.
  """

  def __init__(self, what, total, done=0, every_seconds=30.0, unit="steps", quiet_for=0.0):
    self.what, self.total, self.unit = what, total, unit
    self.every, self.quiet_until = every_seconds, time.time() + quiet_for
    self.first_done, self.first_time, self.last_time = None, None, None

  def update(self, done, detail=""):
    now = time.time()
    if self.first_done is None:
      self.first_done, self.first_time = done, now
    if now < self.quiet_until or (
        self.last_time is not None and now - self.last_time < self.every and done < self.total):
      return
    self.last_time = now
    line = f"{self.what} {done:,}/{self.total:,}"
    if detail:
      line += f", {detail}"
    if done > self.first_done:
      rate = (done - self.first_done) / (now - self.first_time)
      line += f", {rate:.3g} {self.unit}/s"
      if done < self.total and rate > 0 and math.isfinite(rate):
        line += f", ETA {duration((self.total - done) / rate)}"
    say(line)
