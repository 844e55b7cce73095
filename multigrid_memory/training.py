"""What the two multigrid tasks' training loops share: the `main.py` runner
(flags, TensorFlow's start, the strategy, the log, one-line errors), the checks
that stop a diverged run without saving it, and the original's RMSProp restart.
"""
import json
import logging
import os
import sys

import numpy as np

from common import config


class TrainingDivergedError(RuntimeError):
  """The loss or the weights became NaN or infinite; the last finite checkpoint is kept."""


def check_loss(loss, step, keeper):
  """Raises TrainingDivergedError when the logged loss is not finite."""
  if not np.isfinite(loss):
    raise TrainingDivergedError(
        f'the loss became {loss} at time step {step}; stopped without saving, the last '
        f'finite checkpoint ({keeper.latest or "none"}) is kept')


def check_weights(variables, step, keeper):
  """Raises TrainingDivergedError (before a save) when a weight is not finite: a
  diverged run never replaces the last good checkpoint."""
  bad = [v.name for v in variables if not np.isfinite(v.numpy()).all()]
  if bad:
    raise TrainingDivergedError(
        f'{len(bad)} weight tensors (first {bad[0]}) became NaN or infinite by time step '
        f'{step}; stopped without saving, the last finite checkpoint '
        f'({keeper.latest or "none"}) is kept')


def restart_rmsprop(optimizer, logger):
  """The original's resume, which restores the weights alone: RMSProp's ms back to 1."""
  import tensorflow as tf
  for accumulator in optimizer.ms:
    accumulator.assign(tf.ones_like(accumulator))
  logger.info('RMSProp starts again (ms = 1), as the original after a restore')


def run_main(constants, make_trainer, title, argv, errors=()):
  """A task's `main.py`: parse the flags (bad ones end with one line before TensorFlow
  loads), start TensorFlow (threads, oneDNN, logical CPU devices, the strategy), then
  train or test. `make_trainer(args, logger, run_config, settings)`; `errors`: the
  task's own one-line error types. Returns the exit status."""
  args = config.parse_or_exit(constants, argv)
  from common import runtime
  runtime.start_tensorflow(args.INTRA_OP_THREADS, args.SEED, onednn=args.ONEDNN,
                           cpu_devices=args.CPU_DEVICES, strategy=args.DISTRIBUTE)
  from common import distribute
  from common.checkpoint import CheckpointError, ensure_writable_dir
  from common.logs import OutputError, setup_logger
  try:
    args.CHECKPOINT_DIR = distribute.worker_directory(distribute.make_strategy(args.DISTRIBUTE),
                                                      args.CHECKPOINT_DIR)
    ensure_writable_dir(args.CHECKPOINT_DIR)
    logger = setup_logger(os.path.join(args.CHECKPOINT_DIR, 'log.txt'), level=logging.INFO)
    logger.info(f'{title} | mode {args.MODE} | seed {args.SEED} | batch {args.BATCH_SIZE} | '
                f'distribute {args.DISTRIBUTE} | checkpoints and logs in {args.CHECKPOINT_DIR}')
    trainer = make_trainer(args, logger, config.as_dict(args, constants.ARCHITECTURE_KEYS),
                           config.as_dict(args))
    if args.MODE == 'train':
      trainer.fit()
    else:
      trainer.test()
  except (CheckpointError, TrainingDivergedError, OutputError, distribute.DistributeError,
          *errors) as error:
    print(f'error: {error}', file=sys.stderr)
    return 1
  return 0


def log_rows(path, parsers):
  """The logged points of a run's log.txt for its plot_run.py: {step: {name: value}}.
  `parsers`: (compiled regex whose group 1 is the step, function(match) -> dict)."""
  rows = {}
  with open(path) as handle:
    for line in handle:
      for pattern, values in parsers:
        if (match := pattern.search(line)):
          rows.setdefault(int(match[1]), {}).update(values(match))
          break
  steps = sorted(s for s in rows if 'loss' in rows[s])
  if not steps:
    sys.exit(f'error: no "Step g: loss = L" lines in {path}')
  return rows, steps


def write_rows(path, rows, steps):
  with open(path, 'w') as handle:
    for s in steps:
      handle.write(json.dumps({'step': s, **rows[s]}) + '\n')


def running_mean(values, n):
  """The mean of each value and the n - 1 before it (fewer at the start)."""
  return [sum(values[max(0, i - n + 1):i + 1]) / len(values[max(0, i - n + 1):i + 1])
          for i in range(len(values))]
