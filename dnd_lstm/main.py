"""Train the DND-LSTM on the contextual choice task, then draw the original's
analyses; or test a checkpoint: `python main.py [--lowercase_constant=value ...]`
(qihongl/dnd-lstm `src/contextual-choice.py`).

Never needs editing: settings live in constants.py.
"""
import logging
import os
import sys

from common import config
from dnd_lstm import constants


def main(argv):
  args = config.parse_or_exit(constants, argv)  # before TensorFlow loads: bad flags fail fast
  from common import runtime
  runtime.start_tensorflow(args.INTRA_OP_THREADS, args.SEED,
                           inter_op_threads=args.INTER_OP_THREADS)
  from common.checkpoint import CheckpointError, ensure_writable_dir
  from common.logs import OutputError, setup_logger
  from dnd_lstm.trainer import Trainer, TrainingDivergedError

  try:
    ensure_writable_dir(args.CHECKPOINT_DIR)
    logger = setup_logger(os.path.join(args.CHECKPOINT_DIR, 'log.txt'),
                          level=logging.DEBUG if args.VERBOSE else logging.INFO)
    logger.info(f'contextual choice | mode {args.MODE} | seeds {args.SEED}..'
                f'{args.SEED + args.N_AGENTS - 1} | checkpoints, logs and figures in '
                f'{args.CHECKPOINT_DIR}')
    trainer = Trainer(args, logger, config.as_dict(args, constants.ARCHITECTURE_KEYS),
                      config.as_dict(args))
    if args.MODE == 'train':
      trainer.fit()
    else:
      trainer.test()
  except (CheckpointError, TrainingDivergedError, OutputError) as error:
    print(f'error: {error}', file=sys.stderr)
    return 1
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv))
