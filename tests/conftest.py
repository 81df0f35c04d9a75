"""Test session set-up: 8 emulated CPU devices, so data-parallel code is exercised.

XLA reads the flag once, when jax first initialises its backend, so it is set
here, before any test module imports jax.
"""
import os
import tempfile

os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Tests build the same small programs many times (a resumed run recompiles its
# step; subprocesses start cold): XLA's persistent cache compiles each once.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR",
                      os.path.join(tempfile.gettempdir(), f"flowzoo-test-xla-cache-{os.getuid()}"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")


import pytest  # noqa: E402  (after the flag, which must precede jax)


def pytest_configure(config):
  config.addinivalue_line(
      "markers", "slow: trains or runs commands end to end (tens of seconds on 2 CPU cores); "
      "-m 'not slow' leaves these out")


@pytest.fixture(scope="module")
def x64():
  """float64 for the tests of one module (dense Jacobians, tight round trips) only."""
  import jax
  with jax.enable_x64(True):
    yield


@pytest.fixture(scope="session")
def shapes_data_dir(tmp_path_factory):
  """A TFDS data_dir with the embedded flowzoo_shapes prepared, once per session."""
  from flowzoo import data
  config = data.default_config()
  config.data_dir = str(tmp_path_factory.mktemp("tfds"))
  data.get_datasets(config, global_batch_size=8, eval_batch_size=8, seed=0,
                    process_index=0, process_count=1)
  return config.data_dir
