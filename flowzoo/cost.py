"""What a run cost and how fast it samples: device-hours and sampling images/s.

A run may be trained in several segments (pre-empted, resumed). Each segment
notes in its workdir's train-time file (flowzoo.checkpoint.train_time_path), at
every checkpoint, the steps it has checkpointed and the wall-clock seconds it took
on how many devices; the record sums them. Steps a killed segment trained after
its last checkpoint are redone, and counted, by the next one; the lost time itself
is not counted.
"""
import json
import time
import uuid

from etils import epath


def device_kind() -> str:
  """The kind of device the run used ('cpu', 'NVIDIA H200', 'TPU v4')."""
  import jax  # pylint: disable=g-import-not-at-top (the leaderboard imports no jax)
  return jax.devices()[0].device_kind


class Segment:
  """One process's share of a run: from the step it resumed at, with a clock; noted in
  the train-time file at `path`."""

  def __init__(self, path, first_step, devices, kind):
    self._path = epath.Path(path)
    self._id = uuid.uuid4().hex
    self._entry = dict(id=self._id, first_step=int(first_step), last_step=int(first_step),
                       seconds=0.0, devices=devices, device_kind=kind)
    self._started = time.time()

  def note(self, step):
    """Called once a checkpoint of `step` is written: this segment's time so far."""
    self._entry.update(last_step=int(step), seconds=time.time() - self._started)
    segments = [s for s in read_segments(self._path) if s["id"] != self._id]
    tmp = self._path.with_name(f".{self._path.name}.tmp")
    tmp.write_text(json.dumps({"segments": segments + [self._entry]}, indent=2) + "\n")
    tmp.replace(self._path)


def read_segments(path):
  path = epath.Path(path)
  return json.loads(path.read_text())["segments"] if path.exists() else []


def device_hours(path):
  """Sum of seconds x devices / 3600 over the segments in the train-time file at `path`;
  None if it has none."""
  segments = read_segments(path)
  if not segments:
    return None
  return sum(s["seconds"] * s["devices"] for s in segments) / 3600


def images_per_second(draw, num):
  """num / the seconds of one call of `draw` (which returns host arrays, so the
  device has finished); call it after a first, compiling call."""
  start = time.perf_counter()
  draw()
  return num / max(time.perf_counter() - start, 1e-9)
