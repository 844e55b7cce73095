"""Resumable runs: `tf.train.CheckpointManager` plus what the originals lacked.

A checkpoint holds the model and optimiser variables, the step, the numpy
global RNG state (so the data stream continues where it stopped) and the
architecture settings it was made with. Restoring a checkpoint of another
configuration raises `CheckpointMismatchError` naming the differences, before
any variable is touched; the restore is strict (every saved value must find a
home and vice versa), never silently partial.
"""
import json
import os
import signal

import numpy as np
import tensorflow as tf

_CONFIG_KEY = 'run_config/.ATTRIBUTES/VARIABLE_VALUE'


class CheckpointError(RuntimeError):
  """A checkpoint that cannot be used for this run."""


class CheckpointMismatchError(CheckpointError):
  """The checkpoint was made with other architecture settings."""


class NumpyRNGState(tf.train.experimental.PythonState):
  """numpy's legacy global RNG (`np.random.seed`) as part of a checkpoint."""

  def serialize(self):
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return json.dumps([name, keys.tolist(), int(pos), int(has_gauss), float(cached)])

  def deserialize(self, string_value):
    name, keys, pos, has_gauss, cached = json.loads(string_value)
    np.random.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))


def ensure_writable_dir(directory):
  """Create `directory` if needed and check a file can be written there.

  Raises:
    CheckpointError: with a one-line message naming the directory.
  """
  try:
    os.makedirs(directory, exist_ok=True)
    probe = os.path.join(directory, '.write_test')
    with open(probe, 'w') as handle:
      handle.write('ok')
    os.remove(probe)
  except OSError as error:
    raise CheckpointError(f'checkpoint directory {directory!r} is not writable '
                          f'({error.strerror or error}); pass --checkpoint_dir=<a writable dir>')


class CheckpointKeeper:
  """Owns the run's `tf.train.Checkpoint` and its manager.

  Args:
    directory: where checkpoints go (`<CHECKPOINT_DIR>/ckpt-<n>`).
    config: dict of the settings that define the architecture/data; stored in
      the checkpoint and compared on restore.
    max_to_keep: checkpoints kept on disk.
    **objects: trackables to save (models, optimiser, ...).
  """

  def __init__(self, directory, config, max_to_keep=3, **objects):
    self.directory = directory
    self.config = dict(config)
    self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name='step')
    self.run_config = tf.Variable(json.dumps(self.config, sort_keys=True), dtype=tf.string,
                                  trainable=False, name='run_config')
    self.checkpoint = tf.train.Checkpoint(step=self.step, run_config=self.run_config,
                                          data_rng=NumpyRNGState(), **objects)
    self.manager = tf.train.CheckpointManager(self.checkpoint, directory, max_to_keep)

  @property
  def latest(self):
    return self.manager.latest_checkpoint

  def saved_config(self, path):
    try:
      raw = tf.train.load_checkpoint(path).get_tensor(_CONFIG_KEY)
    except (tf.errors.OpError, ValueError) as error:
      raise CheckpointError(f'cannot read checkpoint {path!r}: {error}') from None
    return json.loads(raw.decode() if isinstance(raw, bytes) else raw)

  def check_compatible(self, path):
    saved = self.saved_config(path)
    diffs = [f'{k}={saved.get(k)!r} (this run: {self.config.get(k)!r})'
             for k in sorted(set(saved) | set(self.config)) if saved.get(k) != self.config.get(k)]
    if diffs:
      raise CheckpointMismatchError(
          f'checkpoint {path!r} was made with another configuration: {"; ".join(diffs)}. '
          'Use the same settings or another --checkpoint_dir')

  def restore(self, path=None):
    """Restore `path` (default: the latest). Returns the restored step, or None
    when there is nothing to restore."""
    path = path or self.latest
    if not path:
      return None
    self.check_compatible(path)
    try:
      self.checkpoint.restore(path).assert_consumed()
    except (AssertionError, ValueError, tf.errors.OpError) as error:
      first_line = str(error).strip().splitlines()[0]
      raise CheckpointError(f'checkpoint {path!r} does not fit this model: {first_line}') from None
    return int(self.step.numpy())

  def save(self, step):
    self.step.assign(step)
    return self.manager.save(checkpoint_number=step)


class StopOnInterrupt:
  """Context manager: the first Ctrl-C (SIGINT) sets `.requested` so the loop
  can save and stop at the next step boundary; a second one interrupts at once."""

  def __init__(self):
    self.requested = False
    self._previous = None

  def _handle(self, signum, frame):
    if self.requested:
      raise KeyboardInterrupt
    self.requested = True

  def __enter__(self):
    self._previous = signal.signal(signal.SIGINT, self._handle)
    return self

  def __exit__(self, *exc):
    signal.signal(signal.SIGINT, self._previous)
    return False
