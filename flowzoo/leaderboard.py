r"""The leaderboard: runs' records beside the papers' published numbers.

    python -m flowzoo.leaderboard --dir=gs://team/leaderboard \
        [--dataset=cifar10] [--format=md|csv|html] [--best_per_model] \
        [--out=FILE]

Reads every record in --dir (see flowzoo.records for the schema), joins them
with flowzoo.published, and renders one table per dataset version, best bpd
first. bpd ranks only runs of one density estimation task on one set of data,
so a table holds one (dataset, version, image shape, corruption):
- the two ImageNet versions are two datasets ('downsampled_imagenet/64x64' is
  van den Oord et al.'s files, 'imagenet_resized/64x64' image-net.org's
  box-resized release), and each TFDS version of a dataset is a table of its
  own; a record written before records said their version gets a table titled
  "TFDS version not recorded";
- runs on corrupted data (e.g. shuffled pixels) get a table of their own;
- a TFDS dataset at its native shape (cifar10 at 32x32x3) gets the papers'
  numbers measured on the same data; runs at another data.shape get one table
  per shape, without published rows;
- every 'folder:PATH' is a dataset of its own, one table per shape;
- a published number whose paper does not say which version it used is shown
  in a table of its own ("version not stated") and never ranked with a run;
- a run trained and scored on Gaussian-noised data (TarFlow's generation runs)
  reports the density of noised images, no bound: a table per sigma.

Columns: bpd and its bound, dequantization, parameters, training FLOPs,
device-hours (and the device), sampling images/s at its batch, FID where
measured (N samples, temperature), the temperature of the sample grid, split.
A record written before a column existed says "not recorded" there; a paper
that gives no number says "not stated".

The table goes to --out, or to stdout without it. Plots of bpd against
parameters and against training FLOPs, one pair per table, go next to --out
(named `<out stem>-<table>-bpd_vs_{params,flops}.png`), or without --out into
DIR/plots/, and Markdown and HTML show them under their table. Published rows
are drawn hollow, or as a dotted line where the paper gives no x value.
Unreadable records are named on stderr and skipped.

In HTML and Markdown each run's `sample_grid` is shown in its row: a local
absolute path becomes a file:// URL in HTML, anything else is used as written
(a relative path is relative to the page).

Neither JAX nor TensorFlow is imported: rendering a board takes about a second.
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
from flowzoo.records import lacking
from flowzoo.records import read_records

__all__ = ["Row", "Key", "table_rows", "render", "plot", "plot_tables"]

FORMATS = ("md", "csv", "html")
FOLDER_PREFIX = published.FOLDER_PREFIX
# Key.version of a run whose record predates the dataset_version field.
NOT_RECORDED = "not recorded"
COLUMNS = ("model", "bpd", "bound", "dequantization", "params", "train FLOPs",
           "device-hours", "sampling", "FID", "grid T", "split", "steps",
           "corruption", "date", "run")


class Key(collections.namedtuple("Key", "dataset version shape corruption noise",
                                  defaults=(None,))):
  """One table. dataset: canonical TFDS name, 'folder:PATH', or a family
  ('imagenet64') for published numbers whose version is not stated. version:
  the TFDS version of its runs, NOT_RECORDED, or None (a folder, or published
  numbers only). shape: 'HxWxC', None at the dataset's native shape. noise:
  'gaussian(sigma=S)' for runs trained and scored on Gaussian-noised data, whose
  bpd is the density of the noised images, no bound on the discrete data's: they
  are ranked apart, each sigma in a table of its own."""


@dataclasses.dataclass(frozen=True)
class Row:
  """One line of a table: a run's record or a published number."""
  model: str
  dataset: str
  corruption: str | None
  bpd: float
  version: str | None = None  # Key.version
  # The table's image shape 'HxWxC'; None for a TFDS dataset at its native
  # shape (the one its published numbers are measured at) or where unknown.
  shape: str | None = None
  bound: str | None = None
  dequantization: str | None = None
  params: float | None = None
  steps: int | None = None
  train_flops: float | None = None
  device_hours: float | None = None
  devices: int | str | None = None
  device_kind: str | None = None
  sampling_images_per_s: float | None = None
  sampling_batch: int | None = None
  fid: float | None = None
  fid_samples: int | None = None
  fid_temperature: float | None = None
  fid_standard: bool | None = None
  sample_temperature: float | None = None
  split: str | None = None
  date: str = ""
  run: str = ""          # the workdir of a run; paper and variant if published.
  sample_grid: str | None = None
  is_published: bool = False
  # Comparison fields the record predates (records.lacking), shown "not recorded".
  lacks: tuple[str, ...] = ()

  @property
  def key(self) -> Key:
    noise = self.dequantization if _is_noise(self.dequantization) else None
    return Key(self.dataset, self.version, self.shape, self.corruption, noise)


def _is_noise(dequantization) -> bool:
  return bool(dequantization) and dequantization.startswith("gaussian")


def _corruption(value) -> str | None:
  return None if value in (None, "", "none") else str(value)


def _shape(record: dict) -> tuple[int, ...] | None:
  """The run's image shape: its image_shape, else data.shape from its config."""
  shape = record.get("image_shape")
  if shape is None:
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


def _version(record: dict, dataset: str) -> str | None:
  """Key.version of a run: its TFDS version, or NOT_RECORDED for an old record
  of a TFDS dataset that does not name one; None for a folder."""
  if published.is_folder(dataset):
    return None
  version = record.get("dataset_version") or published.tfds_version(
      record["dataset"])
  return version or NOT_RECORDED


def _row_from_record(record: dict) -> Row:
  dataset = published.canonical_dataset(record["dataset"])
  sampling = record.get("sampling") or {}
  fid = record.get("fid") or {}
  return Row(
      model=record["model"],
      dataset=dataset,
      version=_version(record, dataset),
      corruption=_corruption(record["corruption"]),
      shape=_table_shape(dataset, _shape(record)),
      bpd=float(record["bpd"]),
      bound=record["bound"],
      dequantization=record.get("dequantization"),
      params=record["params"],
      steps=record["steps"],
      train_flops=record["train_flops"],
      device_hours=record.get("device_hours"),
      devices=record.get("devices"),
      device_kind=record.get("device_kind"),
      sampling_images_per_s=sampling.get("images_per_s"),
      sampling_batch=sampling.get("batch"),
      fid=fid.get("value"),
      fid_samples=fid.get("samples"),
      fid_temperature=fid.get("temperature"),
      fid_standard=fid.get("standard"),
      sample_temperature=record.get("sample_temperature"),
      split=record.get("split"),
      date=str(record["date"]),
      run=str(record.get("workdir") or record.get("checkpoint") or ""),
      sample_grid=record.get("sample_grid"),
      lacks=tuple(lacking(record)))


def _row_from_published(p: published.Published) -> Row:
  note = f"; {p.variant}" if p.variant else ""
  return Row(model=p.model, dataset=p.dataset, corruption=p.corruption,
             bpd=p.bpd, bound=p.bound, dequantization=p.dequantization,
             params=p.params, train_flops=p.train_flops,
             device_hours=p.device_hours, device_kind=p.device_kind,
             sampling_images_per_s=p.sampling_images_per_s,
             sampling_batch=p.sampling_batch, fid=p.fid,
             fid_samples=p.fid_samples, fid_temperature=p.fid_temperature,
             sample_temperature=p.sample_temperature, split=p.split,
             run=f"published: {p.source}{note}", is_published=True)


def _wanted(dataset, name) -> bool:
  """Whether --dataset `dataset` (canonical; a family matches both versions)
  selects the table dataset `name`."""
  return dataset in (None, name, published.family(name))


def table_rows(records, dataset=None, best_per_model=False):
  """{Key: rows best first}.

  A published row joins every table of runs on its data (same TFDS name, the
  native shape, the same corruption), whatever their TFDS version, since TFDS's
  versions of one dataset repackage the same images; with no such table, and
  where its version is not stated, it goes to a table of published numbers
  only. Published rows are shown for every family of datasets that has a run
  at its native shape, and for --dataset.
  """
  wanted = published.canonical_dataset(dataset) if dataset else None
  groups = collections.defaultdict(list)
  for row in map(_row_from_record, records):
    if _wanted(wanted, row.dataset):
      groups[row.key].append(row)
  if best_per_model:
    for key, runs in groups.items():
      best = {}
      for row in runs:
        if row.model not in best or row.bpd < best[row.model].bpd:
          best[row.model] = row
      groups[key] = list(best.values())
  shown = {(published.family(k.dataset), k.corruption) for k in groups
           if k.shape is None}
  rows = published.published_rows(wanted)
  if wanted and published.family(wanted) != wanted:
    # The numbers of its family whose version no paper stated: context, in a
    # table of their own.
    rows += [p for p in published.published_rows(published.family(wanted))
             if not p.version_stated]
  for p in rows:
    if not wanted and (published.family(p.dataset), p.corruption) not in shown:
      continue
    row = _row_from_published(p)
    targets = [k for k in list(groups) if k.dataset == p.dataset and k.shape is None
               and k.corruption == p.corruption and k.noise is None]
    for key in targets or [Key(p.dataset, None, None, p.corruption)]:
      groups[key].append(row)
  order = sorted(groups, key=lambda k: (
      published.family(k.dataset), k.dataset, k.version is None,
      k.version or "", k.shape is not None, k.shape or "",
      k.corruption is not None, k.corruption or "", k.noise or ""))
  return {k: sorted(groups[k], key=lambda r: (r.bpd, r.is_published, r.model,
                                              r.date)) for k in order}


def _folder_name(dataset: str) -> str:
  """'digits' for 'folder:/data/digits'."""
  path = dataset[len(FOLDER_PREFIX):]
  return path.rstrip("/").rsplit("/", 1)[-1] or path


def title(key: Key) -> str:
  """What a table holds, in words, e.g. 'cifar10 32x32x3, TFDS 3.0.2: CIFAR-10
  (Krizhevsky 2009), its one release' or 'digits 16x16x1, folder:/data/digits'."""
  ds, version, shape, corruption, noise = key
  shape = shape or _native(ds)
  if published.is_folder(ds):
    text = f"{' '.join(filter(None, (_folder_name(ds), shape)))}, {ds}"
  elif version is None and _not_stated(ds):
    text = (f"{ds} {shape}, {published.VERSION_NOT_STATED}: published numbers "
            "only, ranked with no run")
  else:
    text = " ".join(filter(None, (ds, shape)))
    if version is None:
      text += ", published numbers only"
    elif version == NOT_RECORDED:
      text += ", TFDS version not recorded"
    else:
      text += f", TFDS {version}"
    if ds in published.DATA_VERSIONS:
      text += f": {published.DATA_VERSIONS[ds]}"
  if corruption is not None:
    text += f" (corruption: {corruption})"
  if noise is not None:
    text += f" ({noise} noise: density of noised images, not a bound; ranked apart)"
  return text


def _not_stated(dataset: str) -> bool:
  """Whether `dataset` is a family that published rows name for lack of a version."""
  return dataset not in published.DATA_VERSIONS and any(
      p.dataset == dataset for p in published.PUBLISHED)


def _slug(key: Key) -> str:
  """A file name part for a table, unique per key and readable."""
  ds, version, shape, corruption, noise = key
  if published.is_folder(ds):
    # Two folders may share a base name; a hash of the path tells them apart.
    digest = hashlib.sha1(ds.encode()).hexdigest()[:8]
    ds = f"folder_{_folder_name(ds)}_{digest}"
  if version == NOT_RECORDED:
    version = "unversioned"
  return re.sub(r"[^A-Za-z0-9_.-]+", "_",
                "-".join(filter(None, (ds, version, shape, corruption, noise))))


def _human(n) -> str:
  for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
    if abs(n) >= scale:
      return f"{n / scale:.2f}{suffix}"
  return str(n)


def _bpd(row: Row) -> str:
  if row.is_published:  # As printed in the paper, without invented digits.
    digits = 2 if round(row.bpd, 2) == row.bpd else 3
    return f"{row.bpd:.{digits}f}"
  return f"{row.bpd:.4f}"


def _bound_cell(row: Row) -> str:
  if not row.is_published and _is_noise(row.dequantization):
    return "none (Gaussian noise)"
  return _bound(row.bound)


def _bound(name) -> str:
  if name in ("elbo", "exact"):
    return {"elbo": "ELBO", "exact": "exact"}[name]
  return name.upper()  # 'IWBO-1000'


def _device_hours(row: Row) -> str:
  on = " ".join(str(x) for x in (row.devices, row.device_kind) if x)
  return f"{row.device_hours:.3g}" + (f" ({on})" if on else "")


def _sampling(row: Row) -> str:
  batch = f" at batch {row.sampling_batch}" if row.sampling_batch else ""
  speed = row.sampling_images_per_s
  speed = f"{speed:,.0f}" if speed >= 100 else f"{speed:.3g}"  # no 1.03e+03
  return f"{speed} img/s{batch}"


def _fid(row: Row) -> str:
  notes = [f"N={row.fid_samples:,}" if row.fid_samples else "",
           f"T={row.fid_temperature:g}" if row.fid_temperature is not None else "",
           "non-standard Inception" if row.fid_standard is False else ""]
  notes = ", ".join(n for n in notes if n)
  return f"{row.fid:.2f}" + (f" ({notes})" if notes else "")


# column -> (the record field that holds it, the Row attribute, its text).
_CELLS = {
    "bound": ("bound", "bound", _bound),
    "dequantization": ("dequantization", "dequantization", str),
    "params": ("params", "params", _human),
    "train FLOPs": ("train_flops", "train_flops", lambda v: f"{v:.2e}"),
    "device-hours": ("device_hours", "device_hours", None),
    "sampling": ("sampling", "sampling_images_per_s", None),
    "FID": ("fid", "fid", None),
    "grid T": ("sample_temperature", "sample_temperature", lambda v: f"{v:g}"),
    "split": ("split", "split", str),
}
_ROW_TEXT = {"device-hours": _device_hours, "sampling": _sampling, "FID": _fid}


def _cell(row: Row, column: str) -> str:
  if column == "model":
    return row.model
  if column == "bound" and row.bound is not None:
    return _bound_cell(row)
  if column == "bpd":
    return _bpd(row)
  if column == "steps":
    return "" if row.steps is None else f"{row.steps:,}"
  if column == "corruption":
    return row.corruption or ""
  if column == "date":
    return row.date[:10]
  if column == "run":
    return row.run
  field, attribute, text = _CELLS[column]
  value = getattr(row, attribute)
  if value is None:
    if row.is_published:
      return "not stated"
    return "not recorded" if field in row.lacks else "not measured"
  return _ROW_TEXT[column](row) if text is None else text(value)


def _cells(row: Row) -> list[str]:
  return [_cell(row, c) for c in COLUMNS]


def render(records, fmt="md", dataset=None, best_per_model=False,
           plots=None) -> str:
  """The leaderboard as markdown, CSV or an HTML page. `plots` ({Key: [paths]},
  as plot_tables returns) are shown under their tables in md and html; a
  path is written as given (make it relative to the page, or absolute)."""
  if fmt not in FORMATS:
    raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
  groups = table_rows(records, dataset, best_per_model)
  if fmt == "csv":
    return _csv(groups)
  return {"md": _markdown, "html": _html}[fmt](groups, plots or {})


def _md_escape(text: str) -> str:
  return text.replace("|", r"\|")


def _markdown(groups, plots) -> str:
  out = []
  for key, rows in groups.items():
    out += [f"## {title(key)}", "", "| " + " | ".join(COLUMNS) + " | samples |",
            "|" + "---|" * (len(COLUMNS) + 1)]
    for row in rows:
      cells = [_md_escape(c) for c in _cells(row)]
      if row.is_published:
        cells[-1] = f"*{cells[-1]}*"
      grid = (f"![samples at T={row.sample_temperature}]"
              f"({_md_path(row.sample_grid)})" if row.sample_grid else "")
      out.append("| " + " | ".join(cells + [grid]) + " |")
    out.append("")
    for path in plots.get(key, ()):
      out.append(f"![{_plot_label(path)}]({_md_path(str(path))})")
    if plots.get(key):
      out.append("")
  return "\n".join(out)


def _md_path(path: str) -> str:
  return path.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def _plot_label(path) -> str:
  return ("bpd against training FLOPs" if str(path).endswith("flops.png")
          else "bpd against parameters")


def _csv(groups) -> str:
  buf = io.StringIO()
  writer = csv.writer(buf, lineterminator="\n")
  # New columns go last, so scripts that read columns by position still work.
  writer.writerow(["dataset", "model", "bpd", "bound", "params", "steps",
                   "train_flops", "corruption", "date", "run", "published",
                   "shape", "dataset_version", "data", "split",
                   "dequantization", "device_hours", "devices", "device_kind",
                   "sampling_images_per_s", "sampling_batch", "fid",
                   "fid_samples", "fid_temperature", "sample_temperature",
                   "sample_grid", "not_recorded"])
  for key, rows in groups.items():
    for r in rows:  # Full precision: CSV is for further processing.
      writer.writerow([
          r.dataset, r.model, repr(r.bpd), r.bound, r.params, r.steps,
          r.train_flops, r.corruption, r.date, r.run,
          "published" if r.is_published else "run",
          r.shape or _native(r.dataset), key.version or "",
          published.DATA_VERSIONS.get(r.dataset, published.VERSION_NOT_STATED
                                      if r.is_published else ""),
          r.split, r.dequantization, r.device_hours, r.devices, r.device_kind,
          r.sampling_images_per_s, r.sampling_batch, r.fid, r.fid_samples,
          r.fid_temperature, r.sample_temperature, r.sample_grid,
          " ".join(r.lacks)])
  return buf.getvalue()


def _image_src(path: str) -> str:
  if "://" not in path and pathlib.PurePosixPath(path).is_absolute():
    return pathlib.Path(path).as_uri()
  return path


_STYLE = ("body{font-family:sans-serif}td,th{padding:2px 8px;text-align:left;"
          "vertical-align:top}tr.published{color:#666;font-style:italic}"
          "td.missing{color:#a00}")


def _html(groups, plots) -> str:
  esc = html.escape
  out = ["<!DOCTYPE html>", "<html><head><meta charset='utf-8'>",
         "<title>flowzoo leaderboard</title>", f"<style>{_STYLE}</style>",
         "</head><body>"]
  for key, rows in groups.items():
    slug = esc(_slug(key))
    out.append(f"<h2 id='{slug}'>{esc(title(key))}</h2>"
               f"<table data-table='{slug}'>")
    out.append("<tr>" + "".join(f"<th>{esc(c)}</th>" for c in COLUMNS)
               + "<th>samples</th></tr>")
    for row in rows:
      kind = "published" if row.is_published else "run"
      cells = "".join(
          f"<td class='missing'>{esc(c)}</td>" if c == "not recorded" else
          f"<td>{esc(c)}</td>" for c in _cells(row))
      img = (f"<img src='{esc(_image_src(row.sample_grid))}' width='160'"
             f" alt='samples of {esc(row.model)} at T="
             f"{esc(str(row.sample_temperature))}'>" if row.sample_grid else "")
      out.append(f"<tr class='{kind}' data-kind='{kind}' "
                 f"data-model='{esc(row.model)}' data-bpd='{row.bpd!r}'>"
                 f"{cells}<td>{img}</td></tr>")
    out.append("</table>")
    for path in plots.get(key, ()):
      out.append(f"<img class='plot' src='{esc(_image_src(str(path)))}' "
                 f"width='480' alt='{esc(_plot_label(path))}'>")
  out.append("</body></html>")
  return "\n".join(out) + "\n"


def plot_tables(groups, out_dir, prefix=""):
  """Writes bpd-vs-params and bpd-vs-FLOPs PNGs of each table of `groups`
  (table_rows); returns {Key: [paths]}. A figure with nothing to place on its
  x axis is not written."""
  out_dir = epath.Path(out_dir)
  out_dir.mkdir(parents=True, exist_ok=True)
  # One colour per backbone, the same in every figure; any new model name
  # simply takes the next colour.
  models = sorted({r.model for rows in groups.values() for r in rows})
  cmap = colormaps["tab10" if len(models) <= 10 else "tab20"]
  colours = {m: cmap(i % cmap.N) for i, m in enumerate(models)}
  written = {}
  for key, rows in groups.items():
    for field, label in (("params", "trainable parameters"),
                         ("train_flops", "training FLOPs")):
      fig = _figure(rows, field, label, title(key), colours)
      if fig is None:
        continue
      path = out_dir / f"{prefix}{_slug(key)}-bpd_vs_{field.split('_')[-1]}.png"
      with path.open("wb") as f:
        fig.savefig(f, format="png", dpi=100, bbox_inches="tight")
      written.setdefault(key, []).append(path)
  return written


def plot(records, out_dir, dataset=None, best_per_model=False, prefix=""):
  """Writes bpd-vs-params and bpd-vs-FLOPs PNGs per table; returns their paths."""
  written = plot_tables(table_rows(records, dataset, best_per_model), out_dir,
                        prefix)
  return [p for paths_ in written.values() for p in paths_]


def _figure(rows, field, label, title_, colours):
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
  ax.set_title("\n".join(_wrap(title_, 70)), fontsize="small")
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


def _wrap(text, width):
  out, line = [], ""
  for word in text.split():
    if line and len(line) + 1 + len(word) > width:
      out.append(line)
      line = word
    else:
      line = f"{line} {word}".strip()
  return out + [line]


def _define_flags():
  # Defined only when run as a program: a command that imports this module (to
  # render a board) has flags of its own, which must not meet these.
  flags.DEFINE_string("dir", None, "Leaderboard directory (any epath).",
                      required=True)
  flags.DEFINE_string("dataset", None, "Only this dataset (any spelling; "
                      "'imagenet64' selects both versions).")
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
  if out:
    plot_dir, prefix = epath.Path(out).parent, f"{epath.Path(out).stem}-"
  else:
    plot_dir, prefix = epath.Path(directory) / "plots", ""
  plots = plot_tables(table_rows(records, dataset, fl.best_per_model),
                      plot_dir, prefix)
  # Beside --out a page names its plots by file name, so the folder can move.
  shown = {k: [p.name if out else str(p) for p in v] for k, v in plots.items()}
  text = render(records, fl.format, dataset, fl.best_per_model, shown)
  if out:
    out = epath.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"wrote {out}", file=sys.stderr)
  else:
    sys.stdout.write(text)
  for path in (p for v in plots.values() for p in v):
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
  _define_flags()
  app.run(main)
