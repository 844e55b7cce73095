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


# -- saved progress is never lost ------------------------------------------------------
def saved_run(directory, steps=(1, 2, 3), max_to_keep=3):
  """A directory with checkpoints of `steps`; returns the weights saved at each."""
  layer, optimizer, keeper = build(directory)
  keeper.max_to_keep = max_to_keep
  keeper.manager = keeper._new_manager()
  weights = {}
  for step in steps:
    train_once(layer, optimizer)
    keeper.save(step)
    weights[step] = [v.numpy() for v in layer.trainable_variables]
  return weights


def restored_weights(directory, **kwargs):
  layer, _, keeper = build(directory)
  for name, value in kwargs.items():
    setattr(keeper, name, value)
  step = keeper.restore()
  return step, [v.numpy() for v in layer.trainable_variables], keeper


def data_file(directory, step):
  return os.path.join(directory, f'ckpt-{step}.data-00000-of-00001')


@pytest.mark.parametrize('damage', ['delete', 'garbage', 'empty'])
def test_lost_state_file_resumes_from_the_files(tmp_path, damage):
  weights = saved_run(tmp_path)
  state = tmp_path / 'checkpoint'
  if damage == 'delete':
    state.unlink()
  else:
    state.write_text('garbage {{{' if damage == 'garbage' else '')
  step, restored, keeper = restored_weights(str(tmp_path))
  assert step == 3
  for a, b in zip(weights[3], restored):
    np.testing.assert_array_equal(a, b)
  # The state file is rewritten, so rotation (max_to_keep=2) goes on as before.
  keeper.save(4)
  assert tf.train.latest_checkpoint(str(tmp_path)).endswith('ckpt-4')
  assert sorted(f for f in os.listdir(tmp_path) if f.endswith('.index')) == [
      'ckpt-3.index', 'ckpt-4.index']


@pytest.mark.parametrize('damage, word', [('truncate', 'truncated'), ('empty', 'truncated'),
                                          ('flip', 'corrupt')])
def test_damaged_latest_falls_back_and_is_kept_aside(tmp_path, damage, word):
  weights = saved_run(tmp_path)
  path = data_file(tmp_path, 3)
  raw = open(path, 'rb').read()
  if damage == 'truncate':
    raw = raw[:len(raw) // 2]
  elif damage == 'empty':
    raw = b''
  else:
    raw = bytearray(raw)
    raw[len(raw) // 3] ^= 0xFF
    raw = bytes(raw)
  open(path, 'wb').write(raw)
  warnings = []

  class Log:
    warning = staticmethod(warnings.append)
  step, restored, keeper = restored_weights(str(tmp_path), logger=Log())
  assert step == 2
  for a, b in zip(weights[2], restored):
    np.testing.assert_array_equal(a, b)
  assert any(word in w and 'ckpt-3' in w for w in warnings), warnings
  assert any('restored the older checkpoint' in w for w in warnings), warnings
  # Kept aside, not deleted; the state file no longer names it.
  aside = [os.path.join(root, f) for root, _, files in os.walk(tmp_path / 'damaged') for f in files]
  assert sorted(os.path.basename(f) for f in aside) == ['ckpt-3.data-00000-of-00001',
                                                         'ckpt-3.index']
  assert open([f for f in aside if 'data' in f][0], 'rb').read() == raw
  assert tf.train.latest_checkpoint(str(tmp_path)).endswith('ckpt-2')
  keeper.save(3)  # the next save cannot overwrite the damaged files
  assert open([f for f in aside if 'data' in f][0], 'rb').read() == raw


def test_corrupt_data_file_is_named_corrupt(tmp_path):
  from common.checkpoint import DamagedCheckpointError, verify_checkpoint
  saved_run(tmp_path, steps=(1,))
  path = data_file(tmp_path, 1)
  raw = bytearray(open(path, 'rb').read())
  raw[5] ^= 0x01
  open(path, 'wb').write(bytes(raw))
  with pytest.raises(DamagedCheckpointError) as error:
    verify_checkpoint(os.path.join(tmp_path, 'ckpt-1'))
  message = str(error.value)
  assert 'corrupt' in message and path in message and 'does not fit' not in message
  assert '\n' not in message


def test_no_readable_checkpoint_is_refused_and_nothing_moves(tmp_path):
  saved_run(tmp_path, steps=(1, 2))
  for step in (1, 2):
    open(data_file(tmp_path, step), 'wb').close()
  before = sorted(os.listdir(tmp_path))
  with pytest.raises(CheckpointError) as error:
    restored_weights(str(tmp_path))
  message = str(error.value)
  assert 'none of the 2 checkpoint(s)' in message and '--restart' in message
  assert '\n' not in message
  assert sorted(os.listdir(tmp_path)) == before


def test_index_without_data_is_not_a_fresh_start(tmp_path):
  saved_run(tmp_path, steps=(1,))
  os.remove(data_file(tmp_path, 1))
  with pytest.raises(CheckpointError):
    restored_weights(str(tmp_path))


def test_restart_moves_checkpoints_aside(tmp_path):
  saved_run(tmp_path, steps=(1, 2))
  step, _, keeper = restored_weights(str(tmp_path), restart=True)
  assert step is None
  assert not any(f.startswith('ckpt-') or f == 'checkpoint' for f in os.listdir(tmp_path))
  aside = [f for _, _, files in os.walk(tmp_path / 'replaced') for f in files]
  assert 'ckpt-2.index' in aside and 'ckpt-1.index' in aside and 'checkpoint' in aside
  keeper.save(1)
  assert keeper.latest.endswith('ckpt-1')


def test_mismatch_suggests_a_directory(tmp_path):
  _, _, keeper = build(tmp_path, {'UNITS': 3, 'MEM_HEI': 128})
  keeper.save(1)
  _, _, other = build(tmp_path, {'UNITS': 3, 'MEM_HEI': 64})
  with pytest.raises(CheckpointMismatchError) as error:
    other.restore()
  assert f'--checkpoint_dir={tmp_path}_mem_hei64' in str(error.value)


def test_numpy_rng_state_of_a_random_state(tmp_path):
  from common.checkpoint import NumpyRNGState
  rng = np.random.RandomState(5)
  rng.rand(3)
  state = NumpyRNGState(rng)
  saved = state.serialize()
  expected = rng.rand(4)
  other = np.random.RandomState(0)
  NumpyRNGState(other).deserialize(saved)
  np.testing.assert_array_equal(other.rand(4), expected)


def test_save_schedule_steps_and_minutes():
  from common.checkpoint import SaveSchedule
  now = [0.0]
  schedule = SaveSchedule(every_steps=10, every_minutes=0.5, clock=lambda: now[0])
  assert not schedule.due(3) and schedule.due(10)
  now[0] = 31.0
  assert schedule.due(11)
  schedule.saved()
  assert not schedule.due(12)
  assert not SaveSchedule(0, 0.0).due(10)


def test_failed_save_is_one_line_and_keeps_the_last(tmp_path, monkeypatch):
  saved_run(tmp_path, steps=(1,))
  _, _, keeper = restored_weights(str(tmp_path))
  partial = tmp_path / 'ckpt-2_temp'
  partial.mkdir()

  def full_disk(**kwargs):
    raise tf.errors.ResourceExhaustedError(None, None, '{{function_node __wrapped__SaveV2}} '
                                           'ckpt-2_temp/part-0: No space left on device')
  monkeypatch.setattr(keeper.manager, 'save', full_disk)
  with pytest.raises(CheckpointError) as error:
    keeper.save(2)
  message = str(error.value)
  assert 'No space left on device' in message and 'ckpt-1' in message and '\n' not in message
  assert 'function_node' not in message
  assert not partial.exists()


@pytest.mark.parametrize('folder', ['damaged', 'replaced'])
def test_a_file_where_the_aside_folder_goes(tmp_path, folder):
  saved_run(tmp_path, steps=(1, 2))
  (tmp_path / folder).write_text('in the way')
  if folder == 'damaged':
    open(data_file(tmp_path, 2), 'wb').close()
    step, _, _ = restored_weights(str(tmp_path))
    assert step == 1
  else:
    assert restored_weights(str(tmp_path), restart=True)[0] is None
  assert (tmp_path / folder).read_text() == 'in the way'
  moved = [f for _, _, files in os.walk(tmp_path / f'{folder}-2') for f in files]
  assert 'ckpt-2.index' in moved


def test_test_mode_leaves_a_damaged_directory_as_it_is(tmp_path):
  saved_run(tmp_path, steps=(1, 2))
  open(data_file(tmp_path, 2), 'wb').close()
  before = sorted(os.listdir(tmp_path))
  layer, _, keeper = build(tmp_path)
  assert keeper.restore(train=False) == 1
  assert sorted(os.listdir(tmp_path)) == before


def test_resume_with_other_settings_warns(tmp_path):
  layer = torch_dense(3, 4, 'dense')
  keeper = CheckpointKeeper(str(tmp_path), {'UNITS': 3}, settings={'LR': 0.1, 'MAX_STEPS': 5},
                            model=layer)
  keeper.save(1)
  warnings = []

  class Log:
    warning = staticmethod(warnings.append)
  other = CheckpointKeeper(str(tmp_path), {'UNITS': 3, 'NEW_KEY': 1}, logger=Log(),
                           settings={'LR': 0.5, 'MAX_STEPS': 9}, model=torch_dense(3, 4, 'dense'))
  assert other.restore() == 1  # NEW_KEY: not recorded by the older checkpoint, not compared
  assert len(warnings) == 1 and '--lr=0.5 (was 0.1)' in warnings[0]
  assert 'max_steps' not in warnings[0]


def test_long_mismatch_lists_five(tmp_path):
  _, _, keeper = build(tmp_path, {f'K{i}': i for i in range(9)})
  keeper.save(1)
  _, _, other = build(tmp_path, {f'K{i}': -i - 1 for i in range(9)})
  with pytest.raises(CheckpointMismatchError) as error:
    other.restore()
  assert 'and 4 more' in str(error.value) and 'K5=' not in str(error.value)


def test_writable_dir_probe_is_removed(tmp_path):
  ensure_writable_dir(str(tmp_path))
  assert os.listdir(tmp_path) == []


def test_optional_object_missing_from_an_older_checkpoint(tmp_path):
  layer = torch_dense(3, 4, 'dense')
  CheckpointKeeper(str(tmp_path), {'UNITS': 3}, model=layer).save(1)  # the older version
  extra = tf.Variable([7.0, 7.0])
  newer = CheckpointKeeper(str(tmp_path), {'UNITS': 3}, model=torch_dense(3, 4, 'dense'),
                           extra=extra, optional=('extra',))
  assert newer.restore() == 1
  assert extra.numpy().tolist() == [7.0, 7.0]
  strict = CheckpointKeeper(str(tmp_path), {'UNITS': 3}, model=torch_dense(3, 4, 'dense'),
                            extra=tf.Variable([0.0, 0.0]))
  with pytest.raises(CheckpointError, match='does not fit'):
    strict.restore()


def test_another_programs_checkpoint_is_named_so(tmp_path):
  _, _, keeper = build(tmp_path, {'CONFIG': 1, 'MEM_HEI': 16})
  keeper.save(1)
  _, _, other = build(tmp_path, {'EXPERIMENT': 'centered'})
  with pytest.raises(CheckpointMismatchError) as error:
    other.restore()
  message = str(error.value)
  assert 'another program' in message and 'CONFIG' in message and 'None' not in message
