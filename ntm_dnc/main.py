"""Train or test an NTM / DNC: `python main.py [--lowercase_constant=value ...]`.

Never needs editing: settings live in constants.py (see its CONFIGS table).
"""
import logging
import os
import sys

from common import config
from ntm_dnc import constants


def main(argv):
  args = config.parse_or_exit(constants, argv)  # before TensorFlow loads: bad flags fail fast
  from common import runtime
  runtime.start_tensorflow(args.INTRA_OP_THREADS, args.SEED)
  from common.checkpoint import CheckpointError, ensure_writable_dir
  from common.logs import OutputError, setup_logger
  from ntm_dnc.core.agent import TrainingDivergedError
  from ntm_dnc.utils import factory

  try:
    agent_type, env_type, circuit_type = factory.resolve(args)
    ensure_writable_dir(args.CHECKPOINT_DIR)
    logger = setup_logger(os.path.join(args.CHECKPOINT_DIR, 'log.txt'),
                          level=logging.DEBUG if args.VERBOSE else logging.INFO)
    logger.info('<===================================>')
    logger.info(f'Run: {args.MACHINE}_{args.TIMESTAMP} | mode {args.MODE} | '
                f'config {args.CONFIG} ({agent_type}, {env_type}, {circuit_type}) | seed '
                f'{args.SEED} | checkpoints, logs and visualisations in {args.CHECKPOINT_DIR}')
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
  except (CheckpointError, factory.ConfigValueError, TrainingDivergedError, OutputError) as error:
    print(f'error: {error}', file=sys.stderr)
    return 1
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv))
