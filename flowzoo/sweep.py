r"""Runs a config file's sweep: every member through flowzoo.main, N at a time.

    python -m flowzoo.sweep --config=experiments/backbones.py:toy [--parallel=2] \
        [--workdir_root=runs/sweeps/backbones-toy] [--leaderboard_dir=runs/leaderboard] \
        [--dry_run]

A config file defines a sweep next to get_config:

    def get_sweep(arg=None):
      return [{"model.hidden": h, "train.lr": lr} for h in (64, 128) for lr in (1e-3, 5e-4)]

Each member is a dict of dotted config overrides ({"model.hidden": 64}), which
become --config.model.hidden=64 on the member's command line. Two keys are not
config fields: "arg" replaces the config argument (the part after ':') for that
member, so one experiment file can hold members that are different backbones;
"name" names the member's workdir (default: built from the overrides).

Every member runs in WORKDIR_ROOT/<name>, so running the sweep again resumes the
members that were interrupted (flowzoo.main resumes a workdir) and skips those
that finished: the trainer's result file says they trained config.train.steps
and were evaluated and reported.
--dry_run prints the commands of the members still to run, one per line, for a
cluster scheduler.
"""
import concurrent.futures
import os
import re
import shlex
import subprocess
import sys

from absl import app, flags

from flowzoo import checkpoint, config as config_lib, paths

ARG = "arg"    # member key: the config argument of this member
NAME = "name"  # member key: the name of this member's workdir


# ---------------------------------------------------------------------------------------
# Members: names, configs, commands.
# ---------------------------------------------------------------------------------------
def overrides(member):
  return {k: v for k, v in member.items() if k not in (ARG, NAME)}


def format_value(value):
  """A value as config_flags parses it back: tuples and lists as Python literals."""
  if isinstance(value, (tuple, list)):
    return repr(tuple(value))
  return str(value)


def _slug(text):
  return re.sub(r"[^A-Za-z0-9._=+,-]+", "_", text).strip("_") or "_"


def _name_value(value):
  return "+".join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)


def member_names(members):
  """Deterministic, readable, distinct workdir names: a member's "name", else its arg and
  the overrides in which members differ, each key by its last component unless that is
  ambiguous."""
  keys = sorted({k for m in members for k in overrides(m)})
  missing = object()
  varying = [k for k in keys
             if len({repr(m.get(k, missing)) for m in members}) > 1] or keys
  short = {k: k.rpartition(".")[2] for k in varying}
  clashes = {s for s in short.values() if list(short.values()).count(s) > 1}
  names = []
  for m in members:
    if NAME in m:
      names.append(_slug(str(m[NAME])))
      continue
    parts = [str(m[ARG]).replace(",", "-")] if m.get(ARG) else []
    parts += [f"{k if short[k] in clashes else short[k]}={_name_value(m[k])}"
              for k in varying if k in m]
    names.append(_slug(",".join(parts)) if parts else "base")
  repeated = sorted({n for n in names if names.count(n) > 1})
  if repeated:
    raise ValueError(f"sweep members share the workdir name(s) {repeated}: give them "
                     f"distinct overrides or a distinct '{NAME}'.")
  return names


def _split(spec):
  path, _, arg = spec.partition(":")
  return path, arg or None


def load_sweep(spec):
  """The members of the sweep that config file `spec` ('path[:arg]') defines."""
  module, arg = config_lib.load_config_file(spec)
  if not hasattr(module, "get_sweep"):
    raise ValueError(f"{_split(spec)[0]} defines no get_sweep(arg=None); a sweep config "
                     "returns its members, e.g. [{'model.hidden': h} for h in (64, 128)].")
  members = module.get_sweep(arg) if arg else module.get_sweep()
  if not members:
    raise ValueError(f"{spec}: get_sweep returned no members.")
  return [dict(m) for m in members]


def member_spec(spec, member):
  path, arg = _split(spec)
  arg = member.get(ARG, arg)
  return f"{path}:{arg}" if arg else path


def resolve(spec, member, leaderboard_dir=None):
  """The config a member runs with: its file's get_config, then its overrides."""
  config = config_lib.load_config(member_spec(spec, member))
  items = overrides(member)
  if leaderboard_dir is not None:
    items["leaderboard.dir"] = leaderboard_dir
  for key, value in items.items():
    *sections, field = key.split(".")
    node = config
    for section in sections:
      node = node[section]
    if field not in node:
      raise ValueError(f"sweep member {member}: config.{key} is not a field of "
                       f"{member_spec(spec, member)}.")
    node[field] = tuple(value) if isinstance(value, list) else value
  return config


def command(spec, member, workdir, leaderboard_dir=None, python=sys.executable):
  """The flowzoo.main command line of a member, as an argv list."""
  items = overrides(member)
  if leaderboard_dir is not None:
    items["leaderboard.dir"] = leaderboard_dir
  return [python, "-m", "flowzoo.main", f"--config={member_spec(spec, member)}",
          *[f"--config.{k}={format_value(v)}" for k, v in items.items()],
          f"--workdir={workdir}"]


def default_root(spec):
  path, arg = _split(spec)
  stem = os.path.splitext(os.path.basename(path))[0]
  return os.path.join("runs", "sweeps", _slug(f"{stem}-{arg}" if arg else stem))


# ---------------------------------------------------------------------------------------
# Finished runs.
# ---------------------------------------------------------------------------------------
def is_finished(workdir, config):
  """Whether workdir holds a run of `config` that trained all its steps and was reported."""
  return checkpoint.finished_result(workdir, config.train.steps) is not None


# ---------------------------------------------------------------------------------------
# Running.
# ---------------------------------------------------------------------------------------
def plan(spec, workdir_root=None, leaderboard_dir=None):
  """[(name, workdir, config, argv)] of every member, each config validated before any run."""
  members = load_sweep(spec)
  root = paths.resolve(workdir_root or default_root(spec))
  leaderboard_dir = paths.resolve(leaderboard_dir)
  out = []
  for name, member in zip(member_names(members), members):
    config = resolve(spec, member, leaderboard_dir)
    config_lib.validate(config)
    workdir = os.path.join(root, name)
    out.append((name, workdir, config, command(spec, member, workdir, leaderboard_dir)))
  return out


def _run_member(name, workdir, argv):
  os.makedirs(workdir, exist_ok=True)
  log = checkpoint.sweep_log_path(workdir)
  print(f"sweep: start {name}: {shlex.join(argv)}", flush=True)
  with open(log, "ab") as f:
    rc = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT, check=False).returncode
  print(f"sweep: {'done' if rc == 0 else f'FAILED (exit {rc})'} {name}, log {log}", flush=True)
  return rc


def run(spec, *, parallel=1, dry_run=False, workdir_root=None, leaderboard_dir=None):
  """Runs (or with dry_run prints) the unfinished members; the names of the failed ones."""
  members = plan(spec, workdir_root, leaderboard_dir)
  todo = []
  for name, workdir, config, argv in members:
    if is_finished(workdir, config):
      print(f"# sweep: skip {name}: finished in {workdir}", file=sys.stderr, flush=True)
    else:
      todo.append((name, workdir, argv))
  if dry_run:
    for _, _, argv in todo:
      print(shlex.join(["python", *argv[1:]]), flush=True)
    return []
  print(f"sweep: {len(todo)} of {len(members)} members to run, {parallel} at a time", flush=True)
  with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
    codes = list(pool.map(lambda t: _run_member(*t), todo))
  failed = [name for (name, _, _), rc in zip(todo, codes) if rc]
  print(f"sweep: {len(todo) - len(failed)} ran, {len(failed)} failed"
        + (f": {', '.join(failed)}" if failed else ""), flush=True)
  return failed


def define_flags():
  """The command line's flags. Defined only when run as a program, so that importing this
  module (tests, other commands) defines no flags."""
  flags.DEFINE_string("config", None, "Config file with get_sweep, path[:arg].")
  flags.DEFINE_integer("parallel", 1, "Members run at the same time on this machine.")
  flags.DEFINE_bool("dry_run", False, "Print the commands of the members still to run.")
  flags.DEFINE_string(
      "workdir_root", None, "Parent of the members' workdirs; default runs/sweeps/<config>[-<arg>].")
  flags.DEFINE_string(
      "leaderboard_dir", None, "Leaderboard of every member; default each config's leaderboard.dir.")
  flags.mark_flag_as_required("config")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  f = flags.FLAGS
  failed = run(f.config, parallel=f.parallel, dry_run=f.dry_run, workdir_root=f.workdir_root,
               leaderboard_dir=f.leaderboard_dir)
  return 1 if failed else 0


if __name__ == "__main__":
  define_flags()
  app.run(main)
