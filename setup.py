"""flowzoo: normalizing-flow backbones for images in JAX/Flax."""
import setuptools

setuptools.setup(
    name="flowzoo",
    version="0.1.0",
    description="A JAX/Flax zoo of normalizing-flow backbones for images.",
    packages=setuptools.find_packages(include=["flowzoo", "flowzoo.*"]),
    python_requires=">=3.10",
    install_requires=[
        "jax>=0.4.30",
        "flax>=0.8",
        "optax>=0.2",
        "orbax-checkpoint>=0.6",
        "ml-collections>=0.1.1",
        "chex>=0.1.86",
        "tensorflow-cpu>=2.15",
        "tensorflow-datasets>=4.9.6",
        "etils[epath]>=1.7",
        "absl-py",
        # tensorflow-datasets imports it but declares it only for Python < 3.9.
        "importlib_resources",
        "numpy",
        "pillow",
        # Leaderboard plots and TensorBoard event files.
        "matplotlib",
        "clu",
        "tensorboard",
    ],
    extras_require={"test": ["pytest>=7"]},
)
