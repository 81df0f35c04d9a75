"""Paths a user gives, resolved once where they enter flowzoo.

Orbax refuses relative checkpoint paths, a run's saved config is read again from
other working directories (a resumed run, flowzoo.sample, a sweep), and a path
printed for a person must work from wherever they stand. So every path that
comes in (workdir, sweep root, leaderboard, data) is made absolute at the door;
URLs such as gs://bucket/run are already absolute and pass unchanged.
"""
import os


def resolve(path):
  """An absolute path (str) for a local `path`, `path` itself for a URL; None stays None."""
  if path is None:
    return None
  path = os.fspath(path)
  if not path or "://" in path:
    return path
  return os.path.abspath(os.path.expanduser(path))
