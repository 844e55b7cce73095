"""common.checkpoint: strict resume with optimiser, step, RNG state; mismatch errors."""
import os
import signal

import numpy as np
import pytest
import tensorflow as tf

from common.checkpoint import (CheckpointError, CheckpointKeeper, CheckpointMismatchError,
                               StopOnInterrupt, ensure_writable_dir)
from common.layers import torch_dense
from common.optim import TorchRMSprop


def build(directory, config=None, units=3):
  layer = torch_dense(units, 4, 'dense')
  optimizer = TorchRMSprop(layer.trainable_variables, lr=0.1)
  keeper = CheckpointKeeper(str(directory), config or {'UNITS': units}, max_to_keep=2,
                            model=layer, optimizer=optimizer)
  return layer, optimizer, keeper


def train_once(layer, optimizer):
  with tf.GradientTape() as tape:
    loss = tf.reduce_sum(layer(tf.ones([2, 4])) ** 2)
  grads = tape.gradient(loss, layer.trainable_variables)
  optimizer.apply_gradients(grads, layer.trainable_variables)


def test_nothing_to_restore_returns_none(tmp_path):
  _, _, keeper = build(tmp_path)
  assert keeper.restore() is None


def test_round_trip_weights_optimizer_step_and_rng(tmp_path):
  layer, optimizer, keeper = build(tmp_path)
  train_once(layer, optimizer)
  np.random.seed(123)
  np.random.rand(5)
  keeper.save(7)
  expected_next = np.random.rand(3)           # what the data stream produces next
  saved = [v.numpy() for v in layer.trainable_variables + optimizer.square_avg]

  np.random.seed(999)                        # a new process would start elsewhere
  layer2, optimizer2, keeper2 = build(tmp_path)
  assert keeper2.restore() == 7
  restored = [v.numpy() for v in layer2.trainable_variables + optimizer2.square_avg]
  for a, b in zip(saved, restored):
    np.testing.assert_array_equal(a, b)
  assert np.any(restored[-1] != 0)           # optimizer slots really came back
  np.testing.assert_array_equal(np.random.rand(3), expected_next)


def test_mismatched_configuration_names_the_difference(tmp_path):
  layer, optimizer, keeper = build(tmp_path, {'UNITS': 3, 'MEM_HEI': 128})
  keeper.save(1)
  _, _, other = build(tmp_path, {'UNITS': 3, 'MEM_HEI': 64})
  with pytest.raises(CheckpointMismatchError) as error:
    other.restore()
  assert 'MEM_HEI=128' in str(error.value) and '64' in str(error.value)


def test_shape_mismatch_is_not_a_silent_partial_restore(tmp_path):
  _, _, keeper = build(tmp_path, {'X': 1}, units=3)
  keeper.save(1)
  _, _, other = build(tmp_path, {'X': 1}, units=5)   # same recorded config, other shapes
  with pytest.raises(CheckpointError):
    other.restore()


def test_max_to_keep(tmp_path):
  _, _, keeper = build(tmp_path)
  for step in (1, 2, 3):
    keeper.save(step)
  indexes = sorted(f for f in os.listdir(tmp_path) if f.endswith('.index'))
  assert indexes == ['ckpt-2.index', 'ckpt-3.index']
  assert keeper.latest.endswith('ckpt-3')


def test_unwritable_directory(tmp_path):
  blocker = tmp_path / 'file'
  blocker.write_text('x')
  with pytest.raises(CheckpointError) as error:
    ensure_writable_dir(str(blocker / 'sub'))
  assert 'not writable' in str(error.value) and '\n' not in str(error.value)
  ensure_writable_dir(str(tmp_path / 'new' / 'dir'))
  assert (tmp_path / 'new' / 'dir').is_dir()


def test_stop_on_interrupt_sets_flag_then_restores_handler():
  before = signal.getsignal(signal.SIGINT)
  with StopOnInterrupt() as interrupt:
    assert not interrupt.requested
    os.kill(os.getpid(), signal.SIGINT)
    assert interrupt.requested
    with pytest.raises(KeyboardInterrupt):   # a second Ctrl-C stops at once
      os.kill(os.getpid(), signal.SIGINT)
  assert signal.getsignal(signal.SIGINT) is before
