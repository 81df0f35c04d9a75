"""One process of tests/test_multiprocess.py: a train step on its half of a global batch.

Usage: python -m tests.multiprocess_worker PORT NUM_PROCESSES PROCESS_ID OUT.json
"""
import json
import sys

import jax
import jax.numpy as jnp
import numpy as np


def main(port, num_processes, process_id, out):
  if num_processes > 1:
    jax.distributed.initialize(f"localhost:{port}", num_processes, process_id)
  from flowzoo import config as config_lib, models, optim, train
  config = config_lib.load_config("configs/mixerflow_quickstart.py")  # cwd: the repository
  config.model.update(num_layers=1, hidden=8, flow_layers=2, shift=0)  # the smallest compile
  model = models.build_model(config)
  tx = optim.make(config.train)
  mesh = train.make_mesh()
  batch = np.asarray(jax.random.randint(jax.random.PRNGKey(3), (8, 32, 32, 3), 0, 256), np.uint8)
  share = len(batch) // jax.process_count()
  local = batch[jax.process_index() * share:(jax.process_index() + 1) * share]
  images = jax.make_array_from_process_local_data(
      jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("data")), local)
  replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
  state = jax.jit(lambda r, x: train.create_state(model, tx, r, x),
                  out_shardings=replicated)(jax.random.PRNGKey(0), images)
  state, metrics = train.compile_train_step(model, tx, (32, 32, 3), mesh)(state, images)
  params = jax.tree_util.tree_leaves(state.params)
  result = dict(devices=jax.device_count(), processes=jax.process_count(),
                loss=float(metrics["train_bpd"]),
                checksum=float(sum(jnp.sum(jnp.abs(p)) for p in params)))
  with open(out, "w") as f:
    json.dump(result, f)


if __name__ == "__main__":
  main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
