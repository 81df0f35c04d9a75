"""FID of a model's samples against the Inception statistics of its evaluation split.

    python -m flowzoo.evaluate --workdir=RUN \
        --config.eval.fid_weights=pt_inception-2015-12-05-6726825d.pth \
        [--config.eval.fid_samples=50000] [--config.eval.fid_temperature=1.0] \
        [--config.eval.fid_reference=runs/fid/cifar10_test.npz]

or set config.eval.fid_weights for training: the trainer measures FID after its
final evaluation. N = eval.fid_samples images are drawn at eval.fid_temperature and
compared with the statistics of every image of data.eval_split (cached in
eval.fid_reference when given). The record keeps N, the temperature, the input
size and which weights (file, sha256, and whether they are the standard ones), so
two FIDs are comparable only when those agree. See flowzoo/inception.py for the
network and where its weights come from.
"""
import os
import time

import jax
import numpy as np

from flowzoo import console, inception, provenance, sampling

_REFERENCE_META = ("dataset", "dataset_version", "split", "image_shape", "weights_sha256",
                   "image_size")


def statistics(activations):
  """(mean, covariance) of [N, D] activations, in float64 (np.cov: N - 1)."""
  a = np.asarray(activations, np.float64)
  return a.mean(axis=0), np.cov(a, rowvar=False)


def _trace_sqrt(symmetric_psd):
  return float(np.sum(np.sqrt(np.clip(np.linalg.eigvalsh(symmetric_psd), 0.0, None))))


def frechet_distance(mu1, sigma1, mu2, sigma2):
  """||mu1 - mu2||^2 + tr S1 + tr S2 - 2 tr (S1 S2)^(1/2) (Heusel et al. 2017, eq. 6).

  tr (S1 S2)^(1/2) is the sum of the square roots of the eigenvalues of S1 S2, which
  are those of the symmetric S1^(1/2) S2 S1^(1/2): computed with eigh there, unlike
  a general square root of S1 S2 (scipy.linalg.sqrtm in pytorch-fid) it has no
  complex round-off to drop and needs no ridge when a covariance is singular.
  """
  mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
  sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
  values, vectors = np.linalg.eigh(sigma1)
  root1 = (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
  middle = root1 @ sigma2 @ root1
  cross = _trace_sqrt((middle + middle.T) / 2)
  diff = mu1 - mu2
  return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * cross)


def fid_of_activations(activations, mu_ref, sigma_ref):
  """frechet_distance between the statistics of [N, D] `activations` and a reference.

  With N <= D (few samples; tests) the covariance is B^T B for the centred
  activations B / sqrt(N - 1), and tr (S_ref B^T B)^(1/2) is computed exactly from
  the N x N matrix B S_ref B^T, which has the same non-zero eigenvalues: no D x D
  square root.
  """
  a = np.asarray(activations, np.float64)
  n, d = a.shape
  if n > d:
    return frechet_distance(*statistics(a), mu_ref, sigma_ref)
  mu = a.mean(axis=0)
  b = (a - mu) / np.sqrt(n - 1)
  small = b @ np.asarray(sigma_ref, np.float64) @ b.T
  diff = mu - np.asarray(mu_ref, np.float64)
  return float(diff @ diff + np.sum(b * b) + np.trace(sigma_ref)
               - 2 * _trace_sqrt((small + small.T) / 2))


def activations_of_batches(batches, variables, size):
  """[N, 2048] features of uint8 batches; a batch may be (images, mask[, labels])."""
  out = []
  for batch in batches:
    images, mask = batch[:2] if isinstance(batch, tuple) else (batch, None)
    feats = np.asarray(inception.features(variables, np.asarray(images), size))
    out.append(feats if mask is None else feats[np.asarray(mask)])
  return np.concatenate(out)


def _reference_meta(config, identity):
  fields = provenance.dataset_fields(config.data)
  return {"dataset": config.data.name, "split": config.data.eval_split,
          "weights_sha256": identity["sha256"], "image_size": config.eval.fid_image_size,
          **fields}


def reference_statistics(config, variables, identity):
  """(mu, sigma, reference) of every image of config.data.eval_split; read from
  eval.fid_reference when it holds them for the same data and weights, else
  computed (and written there, when given)."""
  from flowzoo import data  # pylint: disable=g-import-not-at-top (TensorFlow)
  path = config.eval.fid_reference
  meta = _reference_meta(config, identity)
  if path and os.path.exists(path):
    with np.load(path, allow_pickle=False) as f:
      saved = {k: f[k].tolist() for k in _REFERENCE_META if k in f.files}
      for key in _REFERENCE_META:
        if saved.get(key) != meta[key]:
          raise ValueError(
              f"config.eval.fid_reference={path} holds statistics with {key}="
              f"{saved.get(key)!r}, but this evaluation has {meta[key]!r}: point "
              "eval.fid_reference at another file (or delete this one to recompute).")
      mu, sigma, count = f["mu"], f["sigma"], int(f["count"])
  else:
    batch = config.eval.fid_batch_size
    ds = data.get_datasets(config.data, global_batch_size=batch, eval_batch_size=batch,
                           seed=config.seed, process_index=0, process_count=1)
    console.say(f"FID: Inception statistics of {config.data.name} {config.data.eval_split} "
                f"({ds.num_eval:,} images)")
    acts = activations_of_batches(ds.eval(), variables, config.eval.fid_image_size)
    (mu, sigma), count = statistics(acts), len(acts)
    if path:
      os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
      tmp = f"{path}.tmp.npz"
      np.savez(tmp, mu=mu, sigma=sigma, count=count,
               **{k: np.asarray(meta[k]) for k in _REFERENCE_META if meta[k] is not None})
      os.replace(tmp, path)
  reference = {k: meta[k] for k in ("dataset", "dataset_version", "split")}
  return mu, sigma, {**reference, "images": count, "file": path or None}


def sample_activations(model, variables, inception_variables, num, temperature, rng,
                       batch, size):
  """[num, 2048] features of `num` samples at `temperature`, drawn in whole batches
  (one compilation) and the last one cut."""
  batches = (sampling.sample(model, variables, batch, temperature, jax.random.fold_in(rng, i))
             for i in range(-(-num // batch)))
  return activations_of_batches(batches, inception_variables, size)[:num]


def measure(model, variables, config, rng):
  """The record's `fid` of `model`: FID of eval.fid_samples samples at
  eval.fid_temperature against the statistics of data.eval_split."""
  started = time.time()
  cfg = config.eval
  inception_variables, identity = inception.load_variables(cfg.fid_weights)
  mu, sigma, reference = reference_statistics(config, inception_variables, identity)
  console.say(f"FID: {cfg.fid_samples:,} samples at temperature {cfg.fid_temperature}")
  acts = sample_activations(model, variables, inception_variables, cfg.fid_samples,
                            cfg.fid_temperature, rng, cfg.fid_batch_size, cfg.fid_image_size)
  value = fid_of_activations(acts, mu, sigma)
  return {"value": value, "samples": int(cfg.fid_samples),
          "temperature": float(cfg.fid_temperature), "image_size": int(cfg.fid_image_size),
          "standard": bool(identity["standard"]
                           and cfg.fid_image_size == inception.STANDARD_SIZE),
          "weights": identity, "reference": reference, "seconds": time.time() - started}


def check_config(eval_config):
  """Raises ValueError naming the eval.fid_* field that cannot work; before compiling."""
  weights = eval_config.fid_weights
  if not weights:
    return
  if not os.path.isfile(weights):
    raise ValueError(f"config.eval.fid_weights={weights!r}: no such file. Give the FID "
                     "Inception weights (pytorch-fid's release file "
                     "pt_inception-2015-12-05-6726825d.pth, or its tensors as .npz or "
                     ".safetensors), or '' to measure no FID.")
  if os.path.splitext(weights)[1].lower() not in (".npz", ".safetensors", ".pt", ".pth"):
    raise ValueError(f"config.eval.fid_weights={weights!r} must be a .pth, .pt, .npz or "
                     ".safetensors file.")
  if eval_config.fid_image_size < 75:
    raise ValueError(f"config.eval.fid_image_size={eval_config.fid_image_size} must be "
                     f">= 75, the smallest input Inception v3 takes "
                     f"({inception.STANDARD_SIZE} is the standard).")
