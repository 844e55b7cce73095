"""Train or test an NTM / DNC: `python main.py [--lowercase_constant=value ...]`.

Never needs editing: settings live in constants.py (see its CONFIGS table).
"""
import os
import sys

from common import config
from ntm_dnc import constants


def main(argv):
  args = config.parse_or_exit(constants, argv)  # before TensorFlow loads: bad flags fail fast
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # keep TensorFlow's start-up chatter out
  # oneDNN's kernels are slower than Eigen's for these many small ops (measured).
  os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '0')
  import numpy as np
  import tensorflow as tf
  from common.checkpoint import CheckpointError, ensure_writable_dir
  from common.logs import setup_logger
  from ntm_dnc.core.agent import TrainingDivergedError
  from ntm_dnc.utils import factory

  config.set_intra_op_threads(args.INTRA_OP_THREADS)
  try:
    agent_type, env_type, circuit_type = factory.resolve(args)
    ensure_writable_dir(args.CHECKPOINT_DIR)
    logger = setup_logger(os.path.join(args.CHECKPOINT_DIR, 'log.txt'))
    logger.warning('<===================================>')
    logger.warning(f'Run: {args.MACHINE}_{args.TIMESTAMP} | mode {args.MODE} | '
                   f'config {args.CONFIG} ({agent_type}, {env_type}, {circuit_type}) | '
                   f'checkpoints, logs and visualisations in {args.CHECKPOINT_DIR}')
    np.random.seed(args.SEED)
    tf.random.set_seed(args.SEED)
    agent_class = factory.AgentDict[agent_type]
    env_class, circuit_class = factory.EnvDict[env_type], factory.CircuitDict[circuit_type]
    if agent_type == 'empty':
      agent = agent_class(args, env_class, circuit_class, logger)
    else:
      run_config = config.as_dict(args, constants.ARCHITECTURE_KEYS)
      agent = agent_class(args, env_class, circuit_class, logger, run_config)
    if args.MODE == 'train':
      agent.fit_model()
    else:
      agent.test_model()
  except (CheckpointError, factory.ConfigValueError, TrainingDivergedError) as error:
    print(f'error: {error}', file=sys.stderr)
    return 1
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv))
