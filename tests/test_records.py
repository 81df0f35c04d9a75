"""Tests of flowzoo.records: the one writer and reader of leaderboard records."""

import json
import re
import subprocess
import sys
import textwrap

import pytest

from flowzoo import records
from tests.boards import REPO, make_record, old_record


def test_round_trip(tmp_path):
  record = make_record(sample_grid="/tmp/grid.png")
  path = records.write_record(tmp_path / "new" / "dir", record)
  assert json.loads(path.read_text()) == record  # Valid JSON, nothing lost.
  got, problems = records.read_records(tmp_path / "new" / "dir")
  assert got == [record] and problems == []
  assert [p.name for p in (tmp_path / "new" / "dir").iterdir()] == [path.name]
  assert re.fullmatch(r"\d{8}T\d{6}\.\d{6}Z-mixerflow-[0-9a-f]{32}\.json",
                      path.name)


def test_numpy_values_are_written_as_plain_json(tmp_path):
  np = pytest.importorskip("numpy")
  path = records.write_record(
      tmp_path, make_record(bpd=np.float32(3.25), params=np.int64(7)))
  record = json.loads(path.read_text())
  assert record["bpd"] == 3.25 and record["params"] == 7


def test_concurrent_writers_lose_nothing(tmp_path):
  script = textwrap.dedent("""
      import sys
      from tests.boards import make_record
      from flowzoo import records
      for i in range(25):
        records.write_record(sys.argv[1], make_record(
            "jet", 3.0, workdir=f"{sys.argv[2]}-{i}"))
  """)
  procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path),
                             f"writer{w}"], cwd=REPO) for w in range(8)]
  assert all(p.wait(timeout=120) == 0 for p in procs)
  got, problems = records.read_records(tmp_path)
  assert problems == []
  assert len(got) == 200
  assert len({r["workdir"] for r in got}) == 200
  assert len(list(tmp_path.iterdir())) == 200  # No temporary file left.


# A writer may leave out neither a required field nor one of the comparison fields,
# which only records of older versions lack.
@pytest.mark.parametrize("field", ["bpd", "model", "config_hash", "bound",
                                   *records.COMPARISON_FIELDS])
def test_missing_field_is_named(tmp_path, field):
  record = make_record()
  del record[field]
  with pytest.raises(ValueError, match=field):
    records.write_record(tmp_path, record)
  assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("field, value", [
    ("image_shape", [32, 32]), ("image_shape", "32x32x3"),
    ("dequantization", "dequantized"), ("dequantization", "gaussian"),
    ("device_hours", -1.0), ("device_kind", ""),
    ("sampling", {"images_per_s": 10.0}), ("sample_temperature", float("nan")),
    ("fid", {"value": 3.0, "samples": 1, "temperature": 1.0, "weights": {}}),
    ("bound", "iwbo-1"), ("bound", "IWBO"),
])
def test_a_malformed_comparison_field_is_named(tmp_path, field, value):
  with pytest.raises(ValueError, match=field):
    records.write_record(tmp_path, make_record(**{field: value}))


def test_old_records_are_read_and_say_what_they_lack(tmp_path):
  # A record of a version before the comparison fields: read, never dropped.
  (tmp_path / "20250101T000000.000000Z-glow-0.json").write_text(
      json.dumps(old_record("glow", 3.6)))
  (got,), problems = records.read_records(tmp_path)
  assert problems == []
  assert records.lacking(got) == list(records.COMPARISON_FIELDS)
  assert records.lacking(make_record()) == []


@pytest.mark.parametrize("bpd", [float("nan"), float("inf"), "3.4", None])
def test_bpd_must_be_a_finite_number(tmp_path, bpd):
  with pytest.raises(ValueError, match="bpd"):
    records.write_record(tmp_path, make_record(bpd=bpd))


def test_config_hash_ignores_key_order_only():
  a = {"model": {"name": "glow", "depth": 32}, "seed": 0}
  b = {"seed": 0, "model": {"depth": 32, "name": "glow"}}
  assert records.config_hash(a) == records.config_hash(b)
  assert records.config_hash(a) != records.config_hash({**a, "seed": 1})


def test_bound_names():
  assert records.bound_name(1) == "elbo"
  assert records.bound_name(1000) == "iwbo-1000"
  with pytest.raises(ValueError):
    records.bound_name(0)
  assert [records.is_bound_name(n) for n in ("exact", "elbo", "iwbo-2", "iwbo-1000")] == [
      True] * 4
  assert not any(records.is_bound_name(n) for n in ("iwbo-1", "iwbo-01", "ELBO", None))


def test_find_record_with_a_condition(tmp_path):
  plain = records.write_record(tmp_path, make_record(workdir="runs/a"))
  measured = records.write_record(tmp_path, make_record(
      workdir="runs/a", fid={"value": 9.0, "samples": 100, "temperature": 1.0,
                             "weights": {"sha256": "ab"}}))
  assert records.find_record(tmp_path, workdir="runs/a") in (plain, measured)
  assert records.find_record(tmp_path, workdir="runs/a",
                             where=lambda r: r["fid"] is not None) == measured
  assert records.find_record(tmp_path, workdir="runs/b") is None


def test_git_commit_is_this_checkout():
  head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"],
                        capture_output=True, text=True, check=False)
  if head.returncode:
    pytest.skip("not a git checkout")
  assert records.git_commit() == head.stdout.strip()


def test_a_model_of_gaussian_noised_images_reports_no_bound():
  """TarFlow's generation runs score noised images: their bpd bounds nothing discrete."""
  assert records.bound_name(1, "gaussian(sigma=0.05)") is None
  assert records.bound_name(1, "variational") == "elbo"
  assert records.bound_name(4, "uniform") == "iwbo-4"
  assert "no bound" in records.bound_description(None)
  assert "upper bound" in records.bound_description("elbo")


def test_a_run_record_lacks_only_what_the_run_measured(tmp_path):
  """run_record derives every field of the config, the workdir and this process, so that
  the trainer's and the evaluator's records differ only in what they measured."""
  from flowzoo import checkpoint, config as config_lib  # pylint: disable=g-import-not-at-top
  config = config_lib.base_config("mixerflow")
  config.data.name = f"folder:{tmp_path}"  # no TFDS builder to ask for a version
  checkpoint.save_origin(tmp_path, {"source": "release"})
  measured = dict(bpd=3.5, images=10, bound="elbo", train_bpd=None, params=7,
                  dequantization="uniform", config_file="c.py", config_arg=None,
                  wall_time_s=0.0, train_flops=None, train_flops_method=None,
                  device_hours=None, sample_grid=None, sampling=None,
                  sample_temperature=None, fid=None)
  record = records.run_record(config, tmp_path, 4, **measured)
  assert record["examples_seen"] == 4 * config.train.batch_size
  assert record["checkpoint"] == str(checkpoint.step_path(tmp_path, 4))
  assert record["weights"] == {"source": "release"}
  assert record["image_shape"] == list(config.data.shape)
  path = records.write_record(tmp_path / "board", record)
  assert records.read_record(path)["config_hash"] == records.config_hash(config)
  del measured["bpd"]
  with pytest.raises(ValueError, match="bpd"):
    records.write_record(tmp_path / "board", records.run_record(config, tmp_path, 4, **measured))
