"""Train or test the multigrid memory on MNIST associative recall:
`python main.py [--lowercase_constant=value ...]` (trihuynh88/multigrid_mem
`mnist_recall/main.py`). Settings live in constants.py.
"""
import sys

from multigrid_memory.mnist_recall import constants
from multigrid_memory.training import run_main


def make_trainer(*args):
  from multigrid_memory.mnist_recall.trainer import Trainer
  return Trainer(*args)


def main(argv):
  from common.data.mnist import MnistError   # no TensorFlow import
  return run_main(constants, make_trainer, 'MNIST recall', argv, errors=(MnistError,))


if __name__ == '__main__':
  sys.exit(main(sys.argv))
