"""flowzoo: normalizing-flow backbones for images in JAX/Flax."""
import setuptools

setuptools.setup(
    name="flowzoo",
    version="0.1.0",
    description="A JAX/Flax zoo of normalizing-flow backbones for images.",
    packages=setuptools.find_packages(include=["flowzoo", "flowzoo.*"]),
    python_requires=">=3.10",
    # The versions CI tested together (README, "Tested versions"): these libraries
    # change their APIs between minor releases (Orbax 0.12 began refusing
    # relative paths), so a fresh install gets exactly what passed. To move to
    # newer ones, change these lines and run .ci/run.
    install_requires=[
        "jax==0.10.2",
        "jaxlib==0.10.2",
        "flax==0.12.8",
        "optax==0.2.8",
        "orbax-checkpoint==0.12.8",
        "ml-collections==1.1.0",
        "chex==0.1.92",
        "tensorflow-cpu==2.21.0",
        "tensorflow-datasets==4.9.10",
        "etils[epath]==1.15.0",
        "absl-py",
        # tensorflow-datasets imports it but declares it only for Python < 3.9.
        "importlib_resources",
        "numpy",
        "pillow",
        # Leaderboard plots and TensorBoard event files.
        "matplotlib",
        "clu==0.0.12",
        "tensorboard",
        # Released weights as .safetensors (flowzoo.convert): read without torch.
        "safetensors==0.8.0",
    ],
    # pytest-xdist: the suite runs as two workers, a test file each at a time
    # (5.6 min instead of 9.8 on 2 cores; module fixtures are not run twice).
    # torch: only to read released .pt/.pth checkpoints (flowzoo.convert), never needed
    # otherwise.
    # scipy: the FID tests check the Frechet distance against scipy.linalg.sqrtm.
    extras_require={"test": ["pytest>=7", "pytest-xdist>=3.5", "scipy==1.17.1"],
                    "torch": ["torch"]},
)
