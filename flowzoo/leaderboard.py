r"""The leaderboard: runs' records beside the papers' published numbers.

    python -m flowzoo.leaderboard --dir=gs://team/leaderboard \
        [--dataset=cifar10] [--format=md|csv|html] [--best_per_model] \
        [--out=FILE]

Reads every record in --dir (see flowzoo.records for the schema), joins them
with flowzoo.published, and renders one table per dataset, best bpd first.
bpd ranks only runs of one density estimation task, so a table holds one
(dataset, image shape, corruption):
- runs on corrupted data (e.g. shuffled pixels) get a table of their own
  beside their dataset's;
- a TFDS dataset at its native shape (cifar10 at 32x32x3) has one table, with
  the papers' numbers; runs at another data.shape get one table per shape,
  titled with it ('cifar10 16x16x3'), without published rows;
- every 'folder:PATH' is a dataset of its own, one table per shape, titled by
  the folder's name, the shape and its path ('digits 16x16x1,
  folder:/data/digits').
A table is shown for every key that has a run; with --dataset, also the native
ones of that dataset, so its published rows show before the first run lands.

The table goes to --out, or to stdout without it. Plots of bpd against
parameters and against training FLOPs, one figure per table, go next to --out
(named `<out stem>-<table>-bpd_vs_{params,flops}.png`), or without --out into
DIR/plots/. Published rows are drawn hollow, or as a dotted line where the
paper gives no x value. Unreadable records are named on stderr and skipped.

In HTML each run's `sample_grid` is shown beside its row: a local absolute path
becomes a file:// URL, anything else is used as written (a relative path is
relative to the HTML file).
"""

import collections
import csv
import dataclasses
import hashlib
import html
import io
import pathlib
import re
import sys

from absl import app
from absl import flags
from etils import epath
from matplotlib import colormaps
from matplotlib import figure
from matplotlib import lines

from flowzoo import paths, published
from flowzoo.records import read_records
from flowzoo.records import write_record  # Re-exported: the one writer.

__all__ = ["Row", "table_rows", "render", "plot", "read_records",
           "write_record"]

FORMATS = ("md", "csv", "html")
FOLDER_PREFIX = published.FOLDER_PREFIX
COLUMNS = ("model", "bpd", "bound", "params", "steps", "train FLOPs",
           "corruption", "date", "run")


@dataclasses.dataclass(frozen=True)
class Row:
  """One line of a table: a run's record or a published number."""
  model: str
  dataset: str
  corruption: str | None
  bpd: float
  # The table's image shape 'HxWxC'; None for a TFDS dataset at its native
  # shape (the one its published numbers are measured at) or where unknown.
  shape: str | None = None
  bound: str | None = None
  params: float | None = None
  steps: int | None = None
  train_flops: float | None = None
  date: str = ""
  run: str = ""          # the workdir of a run; paper and variant if published.
  sample_grid: str | None = None
  is_published: bool = False


def _corruption(value) -> str | None:
  return None if value in (None, "", "none") else str(value)


def _shape(record: dict) -> tuple[int, ...] | None:
  """The run's data.shape from its config; None where the record lacks it."""
  config = record.get("config")
  data = config.get("data") if isinstance(config, dict) else None
  shape = data.get("shape") if isinstance(data, dict) else None
  if (isinstance(shape, (list, tuple)) and shape
      and all(isinstance(d, int) and not isinstance(d, bool) for d in shape)):
    return tuple(shape)
  return None


def _table_shape(dataset: str, shape) -> str | None:
  """Row.shape: 'HxWxC', or None at the dataset's native shape."""
  native = published.native_shape(dataset)
  if shape is None or tuple(shape) == native:
    return None
  return "x".join(map(str, shape))


def _native(dataset: str) -> str | None:
  shape = published.native_shape(dataset)
  return None if shape is None else "x".join(map(str, shape))


def _row_from_record(record: dict) -> Row:
  dataset = published.canonical_dataset(record["dataset"])
  return Row(
      model=record["model"],
      dataset=dataset,
      corruption=_corruption(record["corruption"]),
      shape=_table_shape(dataset, _shape(record)),
      bpd=float(record["bpd"]),
      bound=record["bound"],
      params=record["params"],
      steps=record["steps"],
      train_flops=record["train_flops"],
      date=str(record["date"]),
      run=str(record.get("workdir") or record.get("checkpoint") or ""),
      sample_grid=record.get("sample_grid"))


def _row_from_published(p: published.Published) -> Row:
  note = f"; {p.variant}" if p.variant else ""
  return Row(model=p.model, dataset=p.dataset, corruption=p.corruption,
             bpd=p.bpd, bound=p.bound, params=p.params,
             run=f"published: {p.source}{note}", is_published=True)


def table_rows(records, dataset=None, best_per_model=False):
  """{(dataset, shape, corruption): rows best first} (see Row for shape).

  By dataset, then the native shape before others, clean before corrupted.
  """
  wanted = published.canonical_dataset(dataset) if dataset else None
  groups = collections.defaultdict(list)
  for row in map(_row_from_record, records):
    if wanted in (None, row.dataset):
      groups[row.dataset, row.shape, row.corruption].append(row)
  if best_per_model:
    for key, runs in groups.items():
      best = {}
      for row in runs:
        if row.model not in best or row.bpd < best[row.model].bpd:
          best[row.model] = row
      groups[key] = list(best.values())
  for row in map(_row_from_published, published.published_rows(wanted)):
    if (row.dataset, None, row.corruption) in groups or wanted:
      groups[row.dataset, None, row.corruption].append(row)
  order = sorted(groups, key=lambda k: (k[0], k[1] is not None, k[1] or "",
                                        k[2] is not None, k[2] or ""))
  return {k: sorted(groups[k], key=lambda r: (r.bpd, r.is_published, r.model,
                                              r.date)) for k in order}


def _folder_name(dataset: str) -> str:
  """'digits' for 'folder:/data/digits'."""
  path = dataset[len(FOLDER_PREFIX):]
  return path.rstrip("/").rsplit("/", 1)[-1] or path


def _title(key) -> str:
  """'cifar10', 'cifar10 16x16x3 (corruption: global_shuffle)', or for a
  folder 'digits 16x16x1, folder:/data/digits'."""
  ds, shape, corruption = key
  folder = published.is_folder(ds)
  title = " ".join(filter(None, (_folder_name(ds) if folder else ds, shape)))
  if corruption is not None:
    title += f" (corruption: {corruption})"
  return f"{title}, {ds}" if folder else title


def _slug(key) -> str:
  """A file name part for a table, unique per key and readable."""
  ds, shape, corruption = key
  if published.is_folder(ds):
    # Two folders may share a base name; a hash of the path tells them apart.
    digest = hashlib.sha1(ds.encode()).hexdigest()[:8]
    ds = f"folder_{_folder_name(ds)}_{digest}"
  return re.sub(r"[^A-Za-z0-9_.-]+", "_",
                "-".join(filter(None, (ds, shape, corruption))))


def _human(n) -> str:
  if n is None:
    return ""
  for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
    if abs(n) >= scale:
      return f"{n / scale:.2f}{suffix}"
  return str(n)


def _bpd(row: Row) -> str:
  if row.is_published:  # As printed in the paper, without invented digits.
    digits = 2 if round(row.bpd, 2) == row.bpd else 3
    return f"{row.bpd:.{digits}f}"
  return f"{row.bpd:.4f}"


def _cells(row: Row) -> list[str]:
  flops = "" if row.train_flops is None else f"{row.train_flops:.2e}"
  steps = "" if row.steps is None else f"{row.steps:,}"
  return [row.model, _bpd(row), row.bound or "", _human(row.params), steps,
          flops, row.corruption or "", row.date[:10], row.run]


def render(records, fmt="md", dataset=None, best_per_model=False) -> str:
  """The leaderboard as markdown, CSV or an HTML page."""
  if fmt not in FORMATS:
    raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
  groups = table_rows(records, dataset, best_per_model)
  return {"md": _markdown, "csv": _csv, "html": _html}[fmt](groups)


def _markdown(groups) -> str:
  out = []
  for key, rows in groups.items():
    out += [f"## {_title(key)}", "", "| " + " | ".join(COLUMNS) + " |",
            "|" + "---|" * len(COLUMNS)]
    for row in rows:
      cells = [c.replace("|", r"\|") for c in _cells(row)]
      if row.is_published:
        cells[-1] = f"*{cells[-1]}*"
      out.append("| " + " | ".join(cells) + " |")
    out.append("")
  return "\n".join(out)


def _csv(groups) -> str:
  buf = io.StringIO()
  writer = csv.writer(buf, lineterminator="\n")
  # New columns go last, so scripts that read columns by position still work.
  writer.writerow(["dataset", "model", "bpd", "bound", "params", "steps",
                   "train_flops", "corruption", "date", "run", "published",
                   "shape"])
  for rows in groups.values():
    for r in rows:  # Full precision: CSV is for further processing.
      writer.writerow([r.dataset, r.model, repr(r.bpd), r.bound, r.params,
                       r.steps, r.train_flops, r.corruption, r.date, r.run,
                       "published" if r.is_published else "run",
                       r.shape or _native(r.dataset)])
  return buf.getvalue()


def _image_src(path: str) -> str:
  if "://" not in path and pathlib.PurePosixPath(path).is_absolute():
    return pathlib.Path(path).as_uri()
  return path


def _html(groups) -> str:
  esc = html.escape
  out = ["<!DOCTYPE html>", "<html><head><meta charset='utf-8'>",
         "<title>flowzoo leaderboard</title>",
         "<style>td,th{padding:2px 8px;text-align:left}"
         " tr.published{color:#666;font-style:italic}</style>",
         "</head><body>"]
  for key, rows in groups.items():
    out.append(f"<h2>{esc(_title(key))}</h2><table>")
    out.append("<tr>" + "".join(f"<th>{esc(c)}</th>" for c in COLUMNS)
               + "<th>samples</th></tr>")
    for row in rows:
      cls = " class='published'" if row.is_published else ""
      cells = "".join(f"<td>{esc(c)}</td>" for c in _cells(row))
      img = (f"<img src='{esc(_image_src(row.sample_grid))}' width='160'"
             f" alt='samples'>" if row.sample_grid else "")
      out.append(f"<tr{cls}>{cells}<td>{img}</td></tr>")
    out.append("</table>")
  out.append("</body></html>")
  return "\n".join(out) + "\n"


def plot(records, out_dir, dataset=None, best_per_model=False, prefix=""):
  """Writes bpd-vs-params and bpd-vs-FLOPs PNGs per table; returns their paths.

  A figure with nothing to place on its x axis is not written.
  """
  out_dir = epath.Path(out_dir)
  out_dir.mkdir(parents=True, exist_ok=True)
  groups = table_rows(records, dataset, best_per_model)
  # One colour per backbone, the same in every figure; any new model name
  # simply takes the next colour.
  models = sorted({r.model for rows in groups.values() for r in rows})
  cmap = colormaps["tab10" if len(models) <= 10 else "tab20"]
  colours = {m: cmap(i % cmap.N) for i, m in enumerate(models)}
  written = []
  for key, rows in groups.items():
    slug = _slug(key)
    for field, label in (("params", "trainable parameters"),
                         ("train_flops", "training FLOPs")):
      fig = _figure(rows, field, label, _title(key), colours)
      if fig is None:
        continue
      path = out_dir / f"{prefix}{slug}-bpd_vs_{field.split('_')[-1]}.png"
      with path.open("wb") as f:
        fig.savefig(f, format="png", dpi=120, bbox_inches="tight")
      written.append(path)
  return written


def _figure(rows, field, label, title, colours):
  placed = [r for r in rows if getattr(r, field) is not None]
  if not placed:
    return None
  fig = figure.Figure(figsize=(6, 4))
  ax = fig.add_subplot()
  for r in placed:
    c = colours[r.model]
    ax.scatter([getattr(r, field)], [r.bpd], s=40, linewidths=1.5,
               edgecolors=c, facecolors="none" if r.is_published else c,
               zorder=3)
  # Published numbers with no x value still mark a level to beat.
  levels = [r for r in rows if r.is_published and getattr(r, field) is None]
  for r in levels:
    ax.axhline(r.bpd, color=colours[r.model], linestyle=":", linewidth=1)
  if all(getattr(r, field) > 0 for r in placed):
    ax.set_xscale("log")
  ax.set_xlabel(label)
  ax.set_ylabel("bits per dimension")
  ax.set_title(title)
  ax.grid(True, alpha=0.3)
  shown = sorted({r.model for r in rows})
  handles = [lines.Line2D([], [], marker="o", linestyle="", color=colours[m],
                          label=m) for m in shown]
  handles += [
      lines.Line2D([], [], marker="o", linestyle="", color="gray", label="run"),
      lines.Line2D([], [], marker="o", linestyle="", color="gray",
                   markerfacecolor="none", label="published")]
  if levels:
    handles.append(lines.Line2D([], [], linestyle=":", color="gray",
                                label="published, no x value"))
  ax.legend(handles=handles, fontsize="small", loc="upper left",
            bbox_to_anchor=(1.02, 1))
  return fig


def _define_flags():
  # Defined only when run as a program: the trainer imports this module for
  # write_record, and its own flags must not meet these.
  flags.DEFINE_string("dir", None, "Leaderboard directory (any epath).",
                      required=True)
  flags.DEFINE_string("dataset", None, "Only this dataset (any spelling).")
  flags.DEFINE_enum("format", "md", FORMATS, "Table format.")
  flags.DEFINE_bool("best_per_model", False,
                    "Keep only each model's best run per table.")
  flags.DEFINE_string("out", None,
                      "Write the table here (plots beside it) instead of "
                      "stdout (plots into DIR/plots).")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  fl = flags.FLAGS
  directory, out = paths.resolve(fl.dir), paths.resolve(fl.out)
  dataset = fl.dataset
  if dataset and published.is_folder(dataset):  # As the trainer records it.
    dataset = FOLDER_PREFIX + paths.resolve(dataset.strip()[len(FOLDER_PREFIX):])
  try:
    records, problems = read_records(directory)
  except FileNotFoundError as e:
    raise app.UsageError(str(e)) from e
  for name, reason in problems:
    print(f"skipping unreadable record {epath.Path(directory) / name}: "
          f"{reason}", file=sys.stderr)
  text = render(records, fl.format, dataset, fl.best_per_model)
  if out:
    out = epath.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"wrote {out}", file=sys.stderr)
    plot_dir, prefix = out.parent, f"{out.stem}-"
  else:
    sys.stdout.write(text)
    plot_dir, prefix = epath.Path(directory) / "plots", ""
  for path in plot(records, plot_dir, dataset, fl.best_per_model, prefix):
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
  _define_flags()
  app.run(main)
