"""Train or test the multigrid memory on MNIST associative recall:
`python main.py [--lowercase_constant=value ...]` (trihuynh88/multigrid_mem
`mnist_recall/main.py`). Settings live in constants.py.
"""
import logging
import os
import sys

from common import config
from multigrid_memory.mnist_recall import constants


def main(argv):
  args = config.parse_or_exit(constants, argv)  # before TensorFlow loads: bad flags fail fast
  from common import runtime
  runtime.start_tensorflow(args.INTRA_OP_THREADS, args.SEED, onednn=args.ONEDNN)
  from common.checkpoint import CheckpointError, ensure_writable_dir
  from common.data.mnist import MnistError
  from common.logs import OutputError, setup_logger
  from multigrid_memory.mnist_recall.trainer import Trainer, TrainingDivergedError

  try:
    ensure_writable_dir(args.CHECKPOINT_DIR)
    logger = setup_logger(os.path.join(args.CHECKPOINT_DIR, 'log.txt'), level=logging.INFO)
    logger.info(f'MNIST recall | mode {args.MODE} | seed {args.SEED} | checkpoints and logs in '
                f'{args.CHECKPOINT_DIR}')
    trainer = Trainer(args, logger, config.as_dict(args, constants.ARCHITECTURE_KEYS),
                      config.as_dict(args))
    if args.MODE == 'train':
      trainer.fit()
    else:
      trainer.test()
  except (CheckpointError, MnistError, TrainingDivergedError, OutputError) as error:
    print(f'error: {error}', file=sys.stderr)
    return 1
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv))
