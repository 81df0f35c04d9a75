"""Test session set-up: 8 emulated CPU devices, so data-parallel code is exercised.

XLA reads the flag once, when jax first initialises its backend, so it is set
here, before any test module imports jax.
"""
import os

os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
