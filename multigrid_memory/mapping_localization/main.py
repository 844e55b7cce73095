"""Train or test the multigrid memory on mapping & localization:
`python main.py [--lowercase_constant=value ...]` (trihuynh88/multigrid_mem
`mapping_localization/main.py`). Settings live in constants.py.
"""
import sys

from multigrid_memory.mapping_localization import constants
from multigrid_memory.training import run_main


def make_trainer(*args):
  from multigrid_memory.mapping_localization.trainer import Trainer
  return Trainer(*args)


def main(argv):
  return run_main(constants, make_trainer, 'Mapping & localization', argv)


if __name__ == '__main__':
  sys.exit(main(sys.argv))
