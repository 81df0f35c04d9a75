"""Tests of flowzoo.records, flowzoo.published and flowzoo.leaderboard."""

import collections
import csv
import html
import io
import json
import os
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

from flowzoo import leaderboard
from flowzoo import published
from flowzoo import records

REPO = pathlib.Path(__file__).resolve().parents[1]


def make_record(model="mixerflow", bpd=3.5, dataset="cifar10", **overrides):
  config = {"model": {"name": model}, "data": {"shape": [32, 32, 3]}}
  record = {
      "model": model, "config_file": f"configs/{model}_cifar10.py",
      "config_arg": None, "config": config,
      "config_hash": records.config_hash(config), "dataset": dataset,
      "split": "test", "corruption": None, "bpd": bpd,
      "bound": records.bound_name(1), "train_bpd": 3.4,
      "params": 11_358_342, "steps": 1000, "examples_seen": 512_000,
      "train_flops": 1.5e15, "train_flops_method": "xla cost analysis x steps",
      "wall_time_s": 12.5, "devices": "8 x cpu", "checkpoint": None,
      "flowzoo_version": records.flowzoo_version(),
      "git_commit": records.git_commit(), "date": records.utc_now(),
      "workdir": f"runs/{model}-{bpd}",
  }
  record.update(overrides)
  return record


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
      from flowzoo import records
      for i in range(25):
        records.write_record(sys.argv[1], {
            **dict.fromkeys(records.REQUIRED_FIELDS),
            "model": "jet", "bpd": 3.0, "dataset": "cifar10",
            "workdir": f"{sys.argv[2]}-{i}"})
  """)
  procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path),
                             f"writer{w}"]) for w in range(8)]
  assert all(p.wait(timeout=120) == 0 for p in procs)
  got, problems = records.read_records(tmp_path)
  assert problems == []
  assert len(got) == 200
  assert len({r["workdir"] for r in got}) == 200
  assert len(list(tmp_path.iterdir())) == 200  # No temporary file left.


@pytest.mark.parametrize("field", ["bpd", "model", "config_hash", "bound"])
def test_missing_field_is_named(tmp_path, field):
  record = make_record()
  del record[field]
  with pytest.raises(ValueError, match=field):
    records.write_record(tmp_path, record)
  assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("bpd", [float("nan"), float("inf"), "3.4", None])
def test_bpd_must_be_a_finite_number(tmp_path, bpd):
  with pytest.raises(ValueError, match="bpd"):
    records.write_record(tmp_path, make_record(bpd=bpd))


def test_config_hash_ignores_key_order_only():
  a = {"model": {"name": "glow", "depth": 32}, "seed": 0}
  b = {"seed": 0, "model": {"depth": 32, "name": "glow"}}
  assert records.config_hash(a) == records.config_hash(b)
  assert records.config_hash(a) != records.config_hash({**a, "seed": 1})


def test_bound_name():
  assert records.bound_name(1) == "elbo"
  assert records.bound_name(1000) == "iwbo-1000"
  with pytest.raises(ValueError):
    records.bound_name(0)


def test_git_commit_is_this_checkout():
  head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"],
                        capture_output=True, text=True, check=False)
  if head.returncode:
    pytest.skip("not a git checkout")
  assert records.git_commit() == head.stdout.strip()


def test_dataset_aliases():
  for name in ("ImageNet32", "imagenet_resized/32x32",
               "downsampled_imagenet/32x32:2.0.0"):
    assert published.canonical_dataset(name) == "downsampled_imagenet/32x32"
  assert published.canonical_dataset("imagenet2012") == "imagenet2012"
  # A folder keeps its path (case included), in one spelling.
  assert published.canonical_dataset(
      "folder:/Data/Digits/./") == "folder:/Data/Digits"
  assert published.native_shape("ImageNet64") == (64, 64, 3)
  assert published.native_shape("folder:/data/digits") is None
  mixerflow64 = [p for p in published.published_rows("imagenet_resized/64x64")
                 if p.model == "mixerflow"]
  assert [(p.bpd, p.params) for p in mixerflow64] == [(3.92, 18_900_000)]


RUNS = [make_record("mixerflow", 3.61), make_record("glow", 3.40),
        make_record("mixerflow", 3.52), make_record("newflow", 3.70),
        make_record("jet", 4.5, dataset="imagenet_resized/32x32"),
        make_record("mixerflow", 4.3, corruption="global_shuffle")]


def _cifar_table(md):
  section = md.split("## cifar10\n")[1].split("##")[0]
  return [line for line in section.splitlines() if line.startswith("| ")][1:]


def test_markdown_sorted_best_first_with_published_marked():
  md = leaderboard.render(RUNS, "md")
  rows = _cifar_table(md)
  bpds = [float(r.split("|")[2]) for r in rows]
  assert bpds == sorted(bpds)
  models = [r.split("|")[1].strip() for r in rows]
  assert models.count("mixerflow") == 3  # Two runs and MixerFlow's 3.46.
  assert "newflow" in models  # A backbone the renderer never heard of.
  marked = [r for r in rows if "published:" in r]
  assert {r.split("|")[2].strip() for r in marked} == {
      "3.46", "3.51", "3.35", "3.018", "2.98"}
  # Corrupted runs rank in a table of their own, with the paper's rows.
  shuffled = md.split("## cifar10 (corruption: global_shuffle)\n")[1]
  assert "4.3000" in shuffled and "4.09" in shuffled
  assert "## downsampled_imagenet/32x32" in md and "3.931" in md
  assert "64x64" not in md  # No run there, so no table.


def test_csv_sorted_and_marked():
  rows = list(csv.DictReader(io.StringIO(
      leaderboard.render(RUNS, "csv", dataset="cifar10"))))
  assert {r["dataset"] for r in rows} == {"cifar10"}
  clean = [r for r in rows if not r["corruption"]]
  assert [float(r["bpd"]) for r in clean] == sorted(
      float(r["bpd"]) for r in clean)
  assert collections.Counter(r["published"] for r in clean) == {
      "run": 4, "published": 5}


def test_best_per_model_keeps_each_models_best_run():
  rows = list(csv.DictReader(io.StringIO(leaderboard.render(
      RUNS, "csv", dataset="cifar10", best_per_model=True))))
  runs = [(r["model"], float(r["bpd"])) for r in rows
          if r["published"] == "run" and not r["corruption"]]
  assert sorted(runs) == [("glow", 3.4), ("mixerflow", 3.52),
                          ("newflow", 3.7)]


def test_html_shows_sample_grid():
  page = leaderboard.render(
      [make_record(sample_grid="/runs/a/samples.png")], "html")
  assert "<img src='file:///runs/a/samples.png'" in page
  assert page.count("class='published'") == 5


def test_corrupt_record_is_skipped_and_named(tmp_path):
  for run in RUNS[:3]:
    leaderboard.write_record(tmp_path, run)
  good = records.write_record(tmp_path, RUNS[3])
  text = good.read_text()
  broken = tmp_path / "20990101T000000.000000Z-jet-broken.json"
  broken.write_text(text[: len(text) // 2])
  (tmp_path / "no-model.json").write_text(json.dumps({"bpd": 1.0}))
  got, problems = records.read_records(tmp_path)
  assert len(got) == 4
  assert {name for name, _ in problems} == {broken.name, "no-model.json"}
  assert "model" in dict(problems)["no-model.json"]
  assert len(_cifar_table(leaderboard.render(got, "md"))) == 4 + 5


def test_command_line_writes_table_and_plots(tmp_path):
  board = tmp_path / "board"
  for run in RUNS:
    records.write_record(board, run)
  (board / "truncated.json").write_text('{"model": "gl')
  out = tmp_path / "report" / "board.md"
  result = subprocess.run(
      [sys.executable, "-m", "flowzoo.leaderboard", f"--dir={board}",
       f"--out={out}", "--best_per_model"],
      capture_output=True, text=True, timeout=120,
      env={**os.environ, "MPLBACKEND": "Agg"}, check=False)
  assert result.returncode == 0, result.stderr
  assert "truncated.json" in result.stderr
  assert "## cifar10" in out.read_text()
  pngs = sorted(p.name for p in out.parent.glob("*.png"))
  assert "board-cifar10-bpd_vs_params.png" in pngs
  assert "board-cifar10-bpd_vs_flops.png" in pngs
  assert "board-downsampled_imagenet_32x32-bpd_vs_params.png" in pngs
  for png in out.parent.glob("*.png"):
    assert png.read_bytes().startswith(b"\x89PNG")


def test_command_line_to_stdout_plots_into_dir(tmp_path):
  records.write_record(tmp_path, RUNS[0])
  result = subprocess.run(
      [sys.executable, "-m", "flowzoo.leaderboard", f"--dir={tmp_path}",
       "--format=csv"], capture_output=True, text=True, timeout=120,
      check=False)
  assert result.returncode == 0, result.stderr
  assert result.stdout.startswith("dataset,model,bpd")
  assert (tmp_path / "plots" / "cifar10-bpd_vs_params.png").stat().st_size


def test_import_defines_no_flags():
  # The trainer imports flowzoo.leaderboard for write_record; a required --dir
  # defined at import would break its command line.
  # In a fresh interpreter: other modules of this test session define flags of their own.
  code = ("from absl import flags; import flowzoo.leaderboard as lb, flowzoo.records as r; "
          "assert 'dir' not in flags.FLAGS and 'out' not in flags.FLAGS; "
          "assert lb.write_record is r.write_record")
  subprocess.run([sys.executable, "-c", code], check=True)


def shaped(model, bpd, dataset, shape, **overrides):
  return make_record(model, bpd, dataset=dataset,
                     config={"data": {"shape": list(shape)}}, **overrides)


FOLDER_RUNS = [
    shaped("glow", 1.10, "folder:/data/digits", (16, 16, 1)),
    shaped("jet", 1.20, "folder:/data/digits/", (16, 16, 1)),  # Same folder.
    shaped("jet", 0.90, "folder:/data/digits", (8, 8, 1)),
    shaped("glow", 3.30, "folder:/data/photos", (32, 32, 3)),
    shaped("glow", 1.00, "folder:/elsewhere/digits", (16, 16, 1)),
    shaped("jet", 3.25, "cifar10", (32, 32, 3)),
    shaped("jet", 3.90, "cifar10", (16, 16, 3)),
]


def _md_tables(md):
  """{title: [model cells]} of a markdown leaderboard."""
  tables = {}
  for section in md.split("## ")[1:]:
    title, _, body = section.partition("\n")
    tables[title] = [line.split("|")[1].strip() for line in body.splitlines()
                     if line.startswith("| ")][1:]
  return tables


def test_each_folder_and_shape_is_its_own_table():
  tables = _md_tables(leaderboard.render(FOLDER_RUNS, "md"))
  assert tables["digits 16x16x1, folder:/data/digits"] == ["glow", "jet"]
  assert tables["digits 8x8x1, folder:/data/digits"] == ["jet"]
  assert tables["photos 32x32x3, folder:/data/photos"] == ["glow"]
  assert tables["digits 16x16x1, folder:/elsewhere/digits"] == ["glow"]
  # A TFDS dataset at its native shape keeps the papers' rows; at another
  # shape it is another task, with no published rows to rank against.
  assert "jet" in tables["cifar10"] and len(tables["cifar10"]) == 1 + 5
  assert tables["cifar10 16x16x3"] == ["jet"]
  assert not any(t.startswith("folder") for t in tables)
  page = leaderboard.render(FOLDER_RUNS, "html")
  titles = re.findall(r"<h2>(.*?)</h2>", page)
  assert sorted(titles) == sorted(html.escape(t) for t in tables)
  rows = list(csv.DictReader(io.StringIO(leaderboard.render(FOLDER_RUNS,
                                                            "csv"))))
  assert {(r["dataset"], r["shape"]) for r in rows} == {
      ("folder:/data/digits", "16x16x1"), ("folder:/data/digits", "8x8x1"),
      ("folder:/data/photos", "32x32x3"),
      ("folder:/elsewhere/digits", "16x16x1"), ("cifar10", "32x32x3"),
      ("cifar10", "16x16x3")}


def test_folder_plots_do_not_collide(tmp_path):
  names = [p.name for p in leaderboard.plot(FOLDER_RUNS, tmp_path)]
  assert len(names) == len(set(names)) == 2 * 6
  assert "cifar10-bpd_vs_params.png" in names
  assert "cifar10-16x16x3-bpd_vs_params.png" in names


@pytest.mark.parametrize("fmt, out", [("md", None), ("html", "report/b.html")])
def test_command_line_with_relative_dir(tmp_path, fmt, out):
  records.write_record(tmp_path / "runs" / "leaderboard",
                       make_record("relflow", 3.7))
  result = subprocess.run(
      [sys.executable, "-m", "flowzoo.leaderboard", "--dir=runs/leaderboard",
       f"--format={fmt}"] + ([f"--out={out}"] if out else []),
      cwd=tmp_path, capture_output=True, text=True, timeout=120,
      env={**os.environ, "MPLBACKEND": "Agg"}, check=False)
  assert result.returncode == 0, result.stderr
  assert "Traceback" not in result.stderr
  table = (tmp_path / out).read_text() if out else result.stdout
  assert "relflow" in table
  wrote = [line.split(" ", 1)[1] for line in result.stderr.splitlines()
           if line.startswith("wrote ")]
  assert wrote and all(os.path.isabs(p) and os.path.exists(p) for p in wrote)
  where = tmp_path / (out or "runs/leaderboard/plots/x")
  assert all(p.startswith(str(where.parent)) for p in wrote), wrote
