"""Train or test the Recurrent Attention Model: `python main.py [--lowercase_constant=value ...]`.

Never needs editing: settings live in constants.py, e.g.
`python main.py --experiment=translated --num_glimpses=6` or `--experiment=catch`.
"""
import os
import sys

from common import config
from recurrent_attention import constants


def main(argv):
  args = config.parse_or_exit(constants, argv)  # before TensorFlow loads: bad flags fail fast
  from common import runtime
  runtime.start_tensorflow(args.INTRA_OP_THREADS, args.SEED)  # seeds weight initialisation
  from common.checkpoint import CheckpointError, ensure_writable_dir
  from common.data.mnist import MnistError
  from common.logs import OutputError, setup_logger
  from recurrent_attention import agent

  try:
    ensure_writable_dir(args.CHECKPOINT_DIR)
    logger = setup_logger(os.path.join(args.CHECKPOINT_DIR, 'log.txt'))
    logger.info('<===================================>')
    logger.info(f'Run: {args.EXPERIMENT} | mode {args.MODE} | {args.NUM_GLIMPSES} glimpses of '
                f'{args.GLIMPSE_SIZE}x{args.GLIMPSE_SIZE} at {args.NUM_SCALES} scale(s) on '
                f'{args.IMAGE_SIZE}x{args.IMAGE_SIZE} | seed {args.SEED} | checkpoints, logs and '
                f'visualisations in {args.CHECKPOINT_DIR}')
    run_config = config.as_dict(args, constants.ARCHITECTURE_KEYS)
    agent_class = agent.CatchAgent if args.EXPERIMENT == 'catch' else agent.ClassificationAgent
    runner = agent_class(args, logger, run_config)
    if args.MODE == 'train':
      runner.fit_model()
    else:
      runner.test_model()
  except (CheckpointError, MnistError, agent.TrainingDivergedError, OutputError) as error:
    print(f'error: {error}', file=sys.stderr)
    return 1
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv))
