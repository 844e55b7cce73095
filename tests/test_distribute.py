"""common/distribute.py: one mirrored step over two logical CPU devices equals the
single-device step on the same global batch (mapping: the trainer's own steps, the
memory carried between chunks; MNIST recall: float64 gradients with batch norm over
the global batch), in a fresh process (tests/distribute_check.py)."""
import json
import os
import subprocess
import sys

import pytest

from common import distribute

CHECK = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'distribute_check.py')


def test_a_mirrored_step_equals_the_single_device_step(tmp_path):
  done = subprocess.run([sys.executable, CHECK, str(tmp_path), 'mapping:2', 'mnist64', 'split'],
                        capture_output=True, text=True, timeout=400,
                        env=dict(os.environ, TF_ENABLE_ONEDNN_OPTS='0'))
  assert done.returncode == 0, done.stderr[-3000:]
  mapping, mnist, split = [json.loads(l) for l in done.stdout.splitlines() if l.startswith('{')]
  assert mapping['replicas'] == 2
  assert max(mapping['loss']) < 1e-5 and max(mapping['updates']) < 1e-3
  assert max(mapping['memory']) < 1e-4
  assert mnist['float64_gradients'] < 1e-9
  # Rows t B + b: replica 0 holds b = 0, 1 of every step, replica 1 b = 2, 3.
  assert split['local'] == [[[0, 1], [2, 3], [8, 9], [10, 11], [16, 17], [18, 19]],
                            [[4, 5], [6, 7], [12, 13], [14, 15], [20, 21], [22, 23]]]
  assert split['gathered'] == [[0, 1], [2, 3], [4, 5], [6, 7]]


def test_split_and_gather_keep_the_batch_order():
  import numpy as np
  strategy = distribute.make_strategy('none')
  images = np.arange(3 * 4 * 2).reshape(12, 2)   # [T B, ...] with T = 3, B = 4
  (parts,) = distribute.split_batch(strategy, [images], 4, time_major=(0,))
  np.testing.assert_array_equal(parts.numpy(), images)
  assert distribute.gather_batch(strategy, parts) is parts
  distribute.check_batch(strategy, 5)
  with pytest.raises(ValueError, match='unknown'):
    distribute.make_strategy('unknown')
