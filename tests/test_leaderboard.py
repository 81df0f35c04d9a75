"""Tests of flowzoo.leaderboard and flowzoo.published: tables per dataset version, the
columns and where each comes from, old records, plots, HTML in a browser."""

import collections
import csv
import html
import html.parser
import io
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from flowzoo import leaderboard
from flowzoo import published
from flowzoo import records
from tests.boards import REPO, make_record, old_record

# The papers' rows on uncorrupted CIFAR-10: every table of a CIFAR-10 run shows them.
CIFAR10_PUBLISHED = sum(1 for p in published.PUBLISHED
                        if p.dataset == "cifar10" and p.corruption is None)


def _split_row(line):
  return [c.strip().replace(r"\|", "|")
          for c in re.split(r"(?<!\\)\|", line.strip()[1:-1])]


def md_tables(md):
  """{title: [{column: cell}]} of a markdown leaderboard."""
  tables = {}
  for section in md.split("## ")[1:]:
    title, _, body = section.partition("\n")
    lines = [line for line in body.splitlines() if line.startswith("| ")]
    header = _split_row(lines[0])
    tables[title] = [dict(zip(header, _split_row(line))) for line in lines[1:]]
  return tables


def table(tables, start):
  """The one table whose title starts with `start` and names no corruption."""
  (title,) = [t for t in tables if t.startswith(start) and "corruption" not in t]
  return tables[title]


def cifar_rows(md):
  return table(md_tables(md), "cifar10 32x32x3, TFDS 3.0.2")


RUNS = [make_record("mixerflow", 3.61), make_record("glow", 3.40),
        make_record("mixerflow", 3.52), make_record("newflow", 3.70),
        make_record("jet", 4.5, dataset="imagenet_resized/32x32"),
        make_record("mixerflow", 4.3, corruption="global_shuffle")]


def test_markdown_sorted_best_first_with_published_marked():
  md = leaderboard.render(RUNS, "md")
  rows = cifar_rows(md)
  bpds = [float(r["bpd"]) for r in rows]
  assert bpds == sorted(bpds)
  models = [r["model"] for r in rows]
  # Two runs, MixerFlow's 3.46 and its Table 3 (MAF flow layers) 3.44.
  assert models.count("mixerflow") == 4
  assert "newflow" in models  # A backbone the renderer never heard of.
  marked = [r for r in rows if r["run"].startswith("*published:")]
  assert {r["bpd"] for r in marked} == {"3.46", "3.44", "4.31", "5.67", "3.51", "3.35",
                                        "3.018", "2.98"}
  # Corrupted runs rank in a table of their own, with the paper's rows.
  shuffled = [t for t in md_tables(md) if "global_shuffle" in t]
  assert len(shuffled) == 1
  assert {r["bpd"] for r in md_tables(md)[shuffled[0]]} == {"4.3000", "4.09", "5.18"}
  assert "64x64" not in md  # No run there, so no table.


def test_csv_sorted_and_marked():
  rows = list(csv.DictReader(io.StringIO(
      leaderboard.render(RUNS, "csv", dataset="cifar10"))))
  assert {r["dataset"] for r in rows} == {"cifar10"}
  clean = [r for r in rows if not r["corruption"]]
  assert [float(r["bpd"]) for r in clean] == sorted(
      float(r["bpd"]) for r in clean)
  assert collections.Counter(r["published"] for r in clean) == {
      "run": 4, "published": CIFAR10_PUBLISHED}
  assert {r["dataset_version"] for r in clean} == {"3.0.2"}


def test_best_per_model_keeps_each_models_best_run():
  rows = list(csv.DictReader(io.StringIO(leaderboard.render(
      RUNS, "csv", dataset="cifar10", best_per_model=True))))
  runs = [(r["model"], float(r["bpd"])) for r in rows
          if r["published"] == "run" and not r["corruption"]]
  assert sorted(runs) == [("glow", 3.4), ("mixerflow", 3.52),
                          ("newflow", 3.7)]


# ---------------------------------------------------------------------------------------
# The version rule.
# ---------------------------------------------------------------------------------------
MIXED = [
    make_record("jet", 3.70, dataset="downsampled_imagenet/64x64"),
    make_record("glow", 3.95, dataset="downsampled_imagenet/64x64"),
    make_record("denseflow", 3.40, dataset="imagenet_resized/64x64"),
    make_record("glow", 3.30, dataset="cifar10"),
    make_record("glow", 3.31, dataset="cifar10", dataset_version="3.0.1"),
    make_record("glow", 3.32, dataset="cifar10:3.0.0", dataset_version="3.0.0"),
    old_record("glow", 3.33, dataset="cifar10"),
    make_record("glow", 4.00, dataset="cifar10", image_shape=[16, 16, 3]),
]


def test_two_dataset_versions_never_share_a_ranking():
  groups = leaderboard.table_rows(MIXED)
  for key, rows in groups.items():
    runs = [r for r in rows if not r.is_published]
    # One dataset, one version, one shape in every table...
    assert len({(r.dataset, r.version, r.shape, r.corruption) for r in runs}) <= 1, key
    # ...and the papers' numbers only beside runs on the same data, at its native shape.
    for p in (r for r in rows if r.is_published):
      assert p.dataset == key.dataset and key.shape is None, (key, p)
      if runs:
        assert runs[0].dataset == p.dataset
  runs_per_table = {k: sorted(r.bpd for r in rows if not r.is_published)
                    for k, rows in groups.items()}
  # Every run in exactly one table.
  assert sorted(b for bs in runs_per_table.values() for b in bs) == sorted(
      r["bpd"] for r in MIXED)
  cifar = {k.version: bs for k, bs in runs_per_table.items()
           if k.dataset == "cifar10" and k.shape is None}
  assert cifar == {"3.0.2": [3.30], "3.0.1": [3.31], "3.0.0": [3.32],
                   leaderboard.NOT_RECORDED: [3.33]}


def test_the_two_imagenet_versions_are_two_datasets():
  groups = leaderboard.table_rows(MIXED)
  oord = groups[leaderboard.Key("downsampled_imagenet/64x64", "2.0.0", None, None)]
  resized = groups[leaderboard.Key("imagenet_resized/64x64", "0.1.0", None, None)]
  assert {(r.model, r.bpd) for r in oord} == {
      ("jet", 3.70), ("glow", 3.95), ("jet", 3.656), ("jet", 3.580), ("tarflow", 2.99)}
  assert {(r.model, r.bpd) for r in resized} == {("denseflow", 3.40), ("denseflow", 3.35)}
  # MixerFlow's and its Glow baseline's ImageNet64 do not say which: a table of
  # their own, with no run in it.
  (not_stated,) = [k for k in groups if k.dataset == "imagenet64"]
  assert all(r.is_published for r in groups[not_stated])
  assert {(r.model, r.bpd) for r in groups[not_stated]} == {("mixerflow", 3.92),
                                                            ("glow", 3.94)}
  md = md_tables(leaderboard.render(MIXED, "md"))
  assert table(md, "imagenet64 64x64x3, version not stated")
  assert table(md, "downsampled_imagenet/64x64 64x64x3, TFDS 2.0.0: van den Oord")
  assert table(md, "imagenet_resized/64x64 64x64x3, TFDS 0.1.0: Chrabaszcz")
  assert table(md, "cifar10 32x32x3, TFDS version not recorded")


def test_gaussian_noise_runs_are_ranked_apart_from_bounds():
  # TarFlow's generation runs: bpd of the noised images, no bound on the discrete data.
  noised = make_record("tarflow", 2.50, dataset="downsampled_imagenet/64x64",
                       dequantization="gaussian(sigma=0.05)")
  groups = leaderboard.table_rows(MIXED[:2] + [noised])
  keys = [k for k in groups if k.dataset == "downsampled_imagenet/64x64"]
  assert sorted(k.noise or "" for k in keys) == ["", "gaussian(sigma=0.05)"]
  (apart,) = [groups[k] for k in keys if k.noise]
  assert [(r.model, r.bpd, r.is_published) for r in apart] == [("tarflow", 2.50, False)]
  (bounds,) = [groups[k] for k in keys if not k.noise]
  assert 2.50 not in [r.bpd for r in bounds] and 2.99 in [r.bpd for r in bounds]
  md = md_tables(leaderboard.render([noised], "md"))
  (row,) = [r for rows in md.values() for r in rows if r["bpd"] == "2.5000"]
  assert row["bound"] == "none (Gaussian noise)"
  assert row["dequantization"] == "gaussian(sigma=0.05)"


def test_a_dataset_filter_shows_its_version_and_the_unstated_ones():
  keys = leaderboard.table_rows(MIXED, dataset="imagenet_resized/64x64")
  assert {k.dataset for k in keys} == {"imagenet_resized/64x64", "imagenet64"}
  keys = leaderboard.table_rows(MIXED, dataset="ImageNet64")  # the family: all three
  assert {k.dataset for k in keys} == {"imagenet_resized/64x64", "imagenet64",
                                       "downsampled_imagenet/64x64"}
  # Before any run lands, a filter still shows the papers' numbers.
  keys = leaderboard.table_rows([], dataset="imagenet_resized/32x32")
  assert keys[leaderboard.Key("imagenet_resized/32x32", None, None, None)][0].bpd == 3.63


def test_published_rows_say_their_data_version_bound_and_split():
  for p in published.PUBLISHED:
    assert p.version in set(published.DATA_VERSIONS.values()) | {
        published.VERSION_NOT_STATED}, p
    assert p.bound is None or records.is_bound_name(p.bound), p
    assert p.dequantization in (None, "uniform", "variational"), p
    assert re.search(r"Table \d+|results table", p.source), p
    assert p.split == ("test" if p.dataset in ("cifar10", "mnist") else "validation"), p
  by = {(p.model, p.bpd): p for p in published.PUBLISHED}
  assert by["tarflow", 2.99].dataset == "downsampled_imagenet/64x64"
  assert by["tarflow", 2.99].params == 460_142_784
  assert by["jet", 3.656].dataset == by["jet", 3.931].dataset.replace("32", "64")
  assert by["denseflow", 3.35].dataset == "imagenet_resized/64x64"
  assert by["denseflow", 3.35].bound == "iwbo-200"
  assert by["denseflow", 3.35].dequantization == "variational"
  not_stated = {(p.model, p.bpd) for p in published.PUBLISHED if not p.version_stated}
  assert not_stated == {("mixerflow", 4.20), ("mixerflow", 3.92), ("glow", 4.32),
                        ("glow", 3.94), ("mixerflow", 4.91), ("glow", 5.27),
                        ("mixerflow", 4.24), ("glow", 4.49)}


def test_dataset_spellings():
  assert published.canonical_dataset("imagenet_resized/32x32") == "imagenet_resized/32x32"
  assert published.canonical_dataset(
      "downsampled_imagenet/32x32:2.0.0") == "downsampled_imagenet/32x32"
  assert published.tfds_version("downsampled_imagenet/32x32:2.0.0") == "2.0.0"
  for name in ("ImageNet32", "imagenet_32", "imagenet32x32"):
    assert published.canonical_dataset(name) == "imagenet32"
  assert published.family("imagenet_resized/64x64") == "imagenet64"
  assert published.canonical_dataset("imagenet2012") == "imagenet2012"
  # A folder keeps its path (case included), in one spelling.
  assert published.canonical_dataset(
      "folder:/Data/Digits/./") == "folder:/Data/Digits"
  assert published.native_shape("ImageNet64") == (64, 64, 3)
  assert published.native_shape("folder:/data/digits") is None
  mixerflow64 = [p for p in published.published_rows("imagenet64")
                 if p.model == "mixerflow"]
  assert [(p.bpd, p.params) for p in mixerflow64] == [(3.92, 18_900_000)]


# ---------------------------------------------------------------------------------------
# Each column and where it comes from.
# ---------------------------------------------------------------------------------------
FULL = make_record(
    "denseflow", 3.1234, bound="iwbo-8", dequantization="variational", params=2_500_000,
    train_flops=4.5e15, device_hours=12.5, devices=8, device_kind="TPU v4",
    sampling={"images_per_s": 345.6, "batch": 64, "temperature": 0.7},
    sample_temperature=0.8, split="test[:50%]", sample_grid="/runs/d/samples.png",
    fid={"value": 12.345, "samples": 5000, "temperature": 0.9, "standard": True,
         "weights": {"sha256": "ab", "file": "w.pth", "standard": True}, "image_size": 299},
    workdir="runs/full")


def test_each_column_shows_its_record_field():
  (row,) = [r for r in cifar_rows(leaderboard.render([FULL], "md"))
            if r["model"] == "denseflow" and "published" not in r["run"]]
  assert row == {
      "model": "denseflow", "bpd": "3.1234", "bound": "IWBO-8",
      "dequantization": "variational", "params": "2.50M", "train FLOPs": "4.50e+15",
      "device-hours": "12.5 (8 TPU v4)", "sampling": "346 img/s at batch 64",
      "FID": "12.35 (N=5,000, T=0.9)", "grid T": "0.8", "split": "test[:50%]",
      "steps": "1,000", "corruption": "", "date": FULL["date"][:10], "run": "runs/full",
      "samples": "![samples at T=0.8](/runs/d/samples.png)"}
  nonstandard = {**FULL, "fid": {**FULL["fid"], "standard": False}}
  (row,) = [r for r in cifar_rows(leaderboard.render([nonstandard], "md"))
            if r["model"] == "denseflow" and "published" not in r["run"]]
  assert row["FID"] == "12.35 (N=5,000, T=0.9, non-standard Inception)"
  # Not measured (an evaluation of released weights, no FID) is not "not recorded".
  (row,) = [r for r in cifar_rows(leaderboard.render(
      [make_record(device_hours=None, train_flops=None)], "md"))
            if "published" not in r["run"]]
  assert (row["FID"], row["device-hours"], row["train FLOPs"]) == ("not measured",) * 3


def test_published_rows_show_what_their_paper_states():
  rows = {r["bpd"]: r for r in cifar_rows(leaderboard.render([FULL], "md"))}
  denseflow = rows["2.98"]
  assert (denseflow["bound"], denseflow["dequantization"], denseflow["split"]) == (
      "IWBO-1000", "variational", "test")
  assert denseflow["params"] == "not stated" and denseflow["FID"] == "not stated"
  assert rows["3.35"]["params"] == "44.60M" and rows["3.35"]["dequantization"] == "uniform"
  assert rows["3.51"]["dequantization"] == "not stated"  # Glow as MixerFlow's baseline


def test_old_records_are_shown_marked_not_dropped(tmp_path):
  records.write_record(tmp_path, make_record("glow", 3.40))
  (tmp_path / "20250101T000000.000000Z-glow-old.json").write_text(
      json.dumps(old_record("glow", 3.50, sample_grid="/runs/old/samples.png")))
  got, problems = records.read_records(tmp_path)
  assert problems == [] and len(got) == 2
  md = md_tables(leaderboard.render(got, "md"))
  (old,) = [r for r in table(md, "cifar10 32x32x3, TFDS version not recorded")
            if "published" not in r["run"]]
  assert old["bpd"] == "3.5000" and old["params"] == "11.36M"
  for column in ("dequantization", "device-hours", "sampling", "FID", "grid T"):
    assert old[column] == "not recorded", column
  (new,) = [r for r in table(md, "cifar10 32x32x3, TFDS 3.0.2")
            if "published" not in r["run"]]
  assert "not recorded" not in new.values()
  rows = list(csv.DictReader(io.StringIO(leaderboard.render(got, "csv"))))
  (old,) = [r for r in rows if r["bpd"] == "3.5"]
  assert old["not_recorded"].split() == list(records.COMPARISON_FIELDS)


# ---------------------------------------------------------------------------------------
# Pages, plots and the command line.
# ---------------------------------------------------------------------------------------
def test_html_shows_sample_grid():
  page = leaderboard.render(
      [make_record(sample_grid="/runs/a/samples.png")], "html")
  assert "<img src='file:///runs/a/samples.png'" in page
  assert page.count("class='published'") == CIFAR10_PUBLISHED


def test_corrupt_record_is_skipped_and_named(tmp_path):
  for run in RUNS[:3]:
    records.write_record(tmp_path, run)
  good = records.write_record(tmp_path, RUNS[3])
  text = good.read_text()
  broken = tmp_path / "20990101T000000.000000Z-jet-broken.json"
  broken.write_text(text[: len(text) // 2])
  (tmp_path / "no-model.json").write_text(json.dumps({"bpd": 1.0}))
  got, problems = records.read_records(tmp_path)
  assert len(got) == 4
  assert {name for name, _ in problems} == {broken.name, "no-model.json"}
  assert "model" in dict(problems)["no-model.json"]
  assert len(cifar_rows(leaderboard.render(got, "md"))) == 4 + CIFAR10_PUBLISHED


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
  text = out.read_text()
  assert "## cifar10 32x32x3, TFDS 3.0.2" in text
  pngs = sorted(p.name for p in out.parent.glob("*.png"))
  assert "board-cifar10-3.0.2-bpd_vs_params.png" in pngs
  assert "board-cifar10-3.0.2-bpd_vs_flops.png" in pngs
  assert "board-imagenet_resized_32x32-0.1.0-bpd_vs_params.png" in pngs
  for png in out.parent.glob("*.png"):
    assert png.read_bytes().startswith(b"\x89PNG")
    # The page shows every plot, by a name relative to it.
    assert f"]({png.name})" in text


def test_command_line_to_stdout_plots_into_dir(tmp_path):
  records.write_record(tmp_path, RUNS[0])
  result = subprocess.run(
      [sys.executable, "-m", "flowzoo.leaderboard", f"--dir={tmp_path}",
       "--format=csv"], capture_output=True, text=True, timeout=120,
      check=False)
  assert result.returncode == 0, result.stderr
  assert result.stdout.startswith("dataset,model,bpd")
  assert (tmp_path / "plots" / "cifar10-3.0.2-bpd_vs_params.png").stat().st_size


def test_import_defines_no_flags():
  # A required --dir defined at import would break the command line of whatever
  # imports the module. In a fresh interpreter: other modules of this test session
  # define flags of their own.
  code = ("from absl import flags; import flowzoo.leaderboard; "
          "assert 'dir' not in flags.FLAGS and 'out' not in flags.FLAGS")
  subprocess.run([sys.executable, "-c", code], check=True)


RENDER = """
import sys, time
started = time.perf_counter()
from flowzoo import leaderboard
sys.argv = ["leaderboard", "--dir=" + sys.argv[1], "--out=" + sys.argv[2], "--format=html"]
leaderboard._define_flags()
try:
  leaderboard.app.run(leaderboard.main)
except SystemExit as e:
  assert not e.code, e.code
loaded = sorted(m for m in ("jax", "jaxlib", "tensorflow", "flax") if m in sys.modules)
assert not loaded, f"rendering the board imported {loaded}"
print(f"rendered in {time.perf_counter() - started:.2f} s")
"""


def test_rendering_imports_neither_jax_nor_tensorflow(tmp_path):
  board = tmp_path / "board"
  for run in RUNS:
    records.write_record(board, run)
  out = tmp_path / "board.html"  # the page with the most to do: plots, images, tables
  result = subprocess.run([sys.executable, "-c", RENDER, str(board), str(out)],
                          capture_output=True, text=True, timeout=120, cwd=REPO,
                          env={**os.environ, "MPLBACKEND": "Agg"}, check=False)
  assert result.returncode == 0, result.stderr
  assert "rendered in" in result.stdout  # its time is reported, never asserted
  assert "<table" in out.read_text()


shapes = [
    ("glow", 1.10, "folder:/data/digits", (16, 16, 1)),
    ("jet", 1.20, "folder:/data/digits/", (16, 16, 1)),  # Same folder.
    ("jet", 0.90, "folder:/data/digits", (8, 8, 1)),
    ("glow", 3.30, "folder:/data/photos", (32, 32, 3)),
    ("glow", 1.00, "folder:/elsewhere/digits", (16, 16, 1)),
    ("jet", 3.25, "cifar10", (32, 32, 3)),
    ("jet", 3.90, "cifar10", (16, 16, 3)),
]
FOLDER_RUNS = [make_record(m, b, dataset=d, image_shape=list(s), config={"data": {"shape": list(s)}})
               for m, b, d, s in shapes]


def test_each_folder_and_shape_is_its_own_table():
  tables = {t: [r["model"] for r in rows]
            for t, rows in md_tables(leaderboard.render(FOLDER_RUNS, "md")).items()}
  assert tables["digits 16x16x1, folder:/data/digits"] == ["glow", "jet"]
  assert tables["digits 8x8x1, folder:/data/digits"] == ["jet"]
  assert tables["photos 32x32x3, folder:/data/photos"] == ["glow"]
  assert tables["digits 16x16x1, folder:/elsewhere/digits"] == ["glow"]
  # A TFDS dataset at its native shape keeps the papers' rows; at another
  # shape it is another task, with no published rows to rank against.
  cifar = table(tables, "cifar10 32x32x3, TFDS 3.0.2")
  assert "jet" in cifar and len(cifar) == 1 + CIFAR10_PUBLISHED
  assert table(tables, "cifar10 16x16x3, TFDS 3.0.2") == ["jet"]
  assert not any(t.startswith("folder") for t in tables)
  page = leaderboard.render(FOLDER_RUNS, "html")
  titles = re.findall(r"<h2 id='[^']*'>(.*?)</h2>", page)
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
  assert "cifar10-3.0.2-bpd_vs_params.png" in names
  assert "cifar10-3.0.2-16x16x3-bpd_vs_params.png" in names


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
  table_ = (tmp_path / out).read_text() if out else result.stdout
  assert "relflow" in table_
  wrote = [line.split(" ", 1)[1] for line in result.stderr.splitlines()
           if line.startswith("wrote ")]
  assert wrote and all(os.path.isabs(p) and os.path.exists(p) for p in wrote)
  where = tmp_path / (out or "runs/leaderboard/plots/x")
  assert all(p.startswith(str(where.parent)) for p in wrote), wrote


# ---------------------------------------------------------------------------------------
# The HTML page in a browser.
# ---------------------------------------------------------------------------------------
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Appended to a copy of the page: marks each image loaded or not once the page has loaded.
CHECK = """<script>
window.addEventListener('load', () => {
  for (const img of document.images)
    img.setAttribute('data-loaded', img.complete && img.naturalWidth > 0 ? 'yes' : 'no');
  document.body.setAttribute('data-checked', 'yes');
});
</script>
<img id='control' src='no-such-image.png' alt='a missing image the check must catch'>
"""


class _Dom(html.parser.HTMLParser):
  """The tables' rows (their data-kind, model, bpd) and the images of a dumped DOM."""

  def __init__(self):
    super().__init__()
    self.rows, self.images, self.checked = collections.defaultdict(list), [], False
    self._table = None

  def handle_starttag(self, tag, attrs):
    attrs = dict(attrs)
    if tag == "body":
      self.checked = attrs.get("data-checked") == "yes"
    if tag == "table":
      self._table = attrs.get("data-table")
    if tag == "tr" and "data-kind" in attrs:
      self.rows[self._table].append((attrs["data-kind"], attrs["data-model"],
                                     float(attrs["data-bpd"])))
    if tag == "img":
      self.images.append(attrs)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary on PATH: "
                    "`apt-get install -y chromium` (Debian's package; .ci/run installs it)")
def test_html_board_in_headless_chromium(tmp_path):
  board = tmp_path / "board"
  grids = []
  for i, run in enumerate(MIXED[:-2] + RUNS):
    grid = tmp_path / "runs" / f"r{i}" / "samples.png"
    grid.parent.mkdir(parents=True)
    grid.write_bytes(_png(i))
    grids.append(str(grid))
    records.write_record(board, {**run, "sample_grid": str(grid)})
  page = tmp_path / "report" / "board.html"
  result = subprocess.run(
      [sys.executable, "-m", "flowzoo.leaderboard", f"--dir={board}", "--format=html",
       f"--out={page}"], capture_output=True, text=True, timeout=120, check=False,
      env={**os.environ, "MPLBACKEND": "Agg"})
  assert result.returncode == 0, result.stderr
  check = page.with_name("check.html")
  check.write_text(page.read_text() + CHECK)
  dom = subprocess.run(
      [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
       "--allow-file-access-from-files", "--virtual-time-budget=10000", "--dump-dom",
       check.as_uri()], capture_output=True, text=True, timeout=120, check=False)
  assert dom.returncode == 0, dom.stderr[-2000:]
  parsed = _Dom()
  parsed.feed(dom.stdout)
  assert parsed.checked, "the page's load event never came"
  # Every row of every table, as the renderer laid them out.
  records_, _ = records.read_records(board)
  groups = leaderboard.table_rows(records_)
  want = {leaderboard._slug(k): [("published" if r.is_published else "run", r.model, r.bpd)
                                 for r in rows] for k, rows in groups.items()}
  assert dict(parsed.rows) == want
  # Every image is there and loaded: each run's sample grid and both plots per table.
  loaded = {img["src"]: img["data-loaded"] for img in parsed.images if img.get("id") != "control"}
  assert {f"file://{g}" for g in grids} <= set(loaded)
  plots = [src for src in loaded if src.endswith(".png") and "bpd_vs" in src]
  # A plot wherever a table has something to place on its x axis.
  assert len(plots) == sum(any(getattr(r, x) is not None for r in rows)
                           for rows in groups.values() for x in ("params", "train_flops"))
  assert len(plots) >= len(groups)
  assert set(loaded.values()) == {"yes"}, loaded
  (control,) = [img for img in parsed.images if img.get("id") == "control"]
  assert control["data-loaded"] == "no"  # the check does tell a missing image


def _png(seed):
  import numpy as np  # pylint: disable=g-import-not-at-top
  from PIL import Image  # pylint: disable=g-import-not-at-top
  buf = io.BytesIO()
  pixels = np.random.default_rng(seed).integers(0, 256, (33, 33, 3), dtype=np.uint8)
  Image.fromarray(pixels).save(buf, format="PNG")
  return buf.getvalue()
