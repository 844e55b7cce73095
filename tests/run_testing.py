"""Helpers for the end-to-end tests that compare whole runs."""
import os
import re

import numpy as np
import tensorflow as tf

# Parts of a log line that depend on the machine's speed, not on the run.
_TIMING = re.compile(r'\| [0-9.]+ steps/s.*$|took [0-9.]+ s|Elapsed Time: [0-9.]+|Took: [0-9.]+|'
                     r'total time: .*$|\| [0-9]+ images/s|measuring steps/s.*$')


def checkpoint_tensors(path):
  """`{key: value}` of every tensor in checkpoint `path` (weights, slots, RNG states, step)."""
  reader = tf.train.load_checkpoint(path)
  return {key: reader.get_tensor(key) for key in reader.get_variable_to_shape_map()
          if 'save_counter' not in key}


def assert_same_checkpoint(path_a, path_b, ignore=()):
  """Every tensor equal, but those whose key starts with one of `ignore` (e.g. the
  recorded settings 'run_config' of runs that differ in a setting on purpose)."""
  a, b = checkpoint_tensors(path_a), checkpoint_tensors(path_b)
  for key in [k for k in a if k.startswith(tuple(ignore))]:
    a.pop(key)
    b.pop(key, None)
  assert sorted(a) == sorted(b)
  for key in a:
    if isinstance(a[key], np.ndarray) and a[key].dtype.kind == 'f':
      np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    else:
      assert a[key] == b[key] if not isinstance(a[key], np.ndarray) else \
          np.array_equal(a[key], b[key]), key


def loss_lines(directory):
  """The log's lines that carry numbers of the run, with timings blanked."""
  with open(os.path.join(directory, 'log.txt')) as handle:
    lines = handle.read().splitlines()
  return [_TIMING.sub('', line) for line in lines
          if 'loss' in line and 'ETA' in line or 'loss_avg' in line or 'Training Stats' in line]
