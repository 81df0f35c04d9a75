"""The optimizer of config.train: Adam, AdamW or Adamax, warmup then decay, clipping."""
import optax


def learning_rate(cfg):
  """Linear warmup from 0 to cfg.lr, then cosine decay to 0 at cfg.steps, or constant."""
  warmup = optax.linear_schedule(0.0, cfg.lr, max(cfg.warmup_steps, 1))
  if cfg.schedule == "cosine":
    after = optax.cosine_decay_schedule(cfg.lr, max(cfg.steps - cfg.warmup_steps, 1), alpha=0.0)
  else:
    after = optax.constant_schedule(cfg.lr)
  return optax.join_schedules([warmup, after], [cfg.warmup_steps])


def make(cfg):
  lr = learning_rate(cfg)
  if cfg.optimizer == "adam":
    opt = optax.adam(lr, b1=cfg.b1, b2=cfg.b2, eps=cfg.eps)
  elif cfg.optimizer == "adamw":
    opt = optax.adamw(lr, b1=cfg.b1, b2=cfg.b2, eps=cfg.eps, weight_decay=cfg.weight_decay)
  else:
    opt = optax.adamax(lr, b1=cfg.b1, b2=cfg.b2, eps=cfg.eps)
  clip = [optax.clip_by_global_norm(cfg.grad_clip)] if cfg.grad_clip > 0 else []
  return optax.chain(*clip, opt)
