"""Converts a released checkpoint into a flowzoo run directory.

    python -m flowzoo.convert --source=denseflow --checkpoint=FILE \
        --config=configs/denseflow_cifar10.py --workdir=runs/denseflow_released

writes WORKDIR/config.json, an Orbax checkpoint of step 0 holding the converted
variables (and a fresh optimizer state), and WORKDIR/weights.json saying where the
weights came from. flowzoo.evaluate, flowzoo.sample and flowzoo.load read it as
any run; flowzoo.main with the same config fine-tunes it from there.
--prefix selects the checkpoint's weights by name (e.g. 'state_dict/' in the
parity fixtures, 'params/' in a big_vision training checkpoint).
"""
from absl import app, flags
from ml_collections import config_flags

from flowzoo import config as config_lib, console, convert, paths

_SOURCE = flags.DEFINE_enum("source", None, sorted(convert.SOURCES),
                            "The reference code the checkpoint comes from.")
_CHECKPOINT = flags.DEFINE_string("checkpoint", None, "Checkpoint file: " +
                                  ", ".join(convert.FORMATS) + ".")
_PREFIX = flags.DEFINE_string("prefix", "", "Only tensors whose names start with this; "
                              "it is removed from the names.")
_CONFIG = config_flags.DEFINE_config_file("config", None, "Config file, path[:arg], whose "
                                          "model the checkpoint is.")
_WORKDIR = flags.DEFINE_string("workdir", None, "New run directory to write.")
flags.mark_flags_as_required(["source", "checkpoint", "config", "workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  console.setup()
  config_file = config_flags.get_config_filename(flags.FLAGS["config"])
  with console.user_errors():
    convert.convert_to_workdir(_SOURCE.value, _CHECKPOINT.value, _CONFIG.value,
                               _WORKDIR.value, _PREFIX.value, config_file)
  workdir = paths.resolve(_WORKDIR.value)
  console.say(f"wrote {workdir}")
  console.say(f"  evaluate:  python -m flowzoo.evaluate --workdir={workdir}")
  console.say(f"  sample:    python -m flowzoo.sample --workdir={workdir}")
  console.say(f"  fine-tune: python -m flowzoo.main --config={config_file} --workdir={workdir}")


if __name__ == "__main__":
  app.run(main, flags_parser=config_lib.parse_flags)
