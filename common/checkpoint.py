"""Resumable runs: `tf.train.CheckpointManager` plus what the originals lacked.

A checkpoint holds the model and optimiser variables, the step, the data RNG
state (so the data stream continues where it stopped) and the architecture
settings it was made with. Restoring a checkpoint of another configuration
raises `CheckpointMismatchError` naming the differences (and a directory to use
instead), before any variable is touched; the restore is strict (every saved
value must find a home and vice versa), never silently partial.

Saved progress is never lost or overwritten:
- the checkpoints are found from the `ckpt-<n>.*` files themselves, so a
  missing or unreadable `checkpoint` state file loses nothing (it is rewritten);
- each candidate, newest first, is read in full (TensorFlow checks every
  tensor's checksum) before anything is restored; a damaged one (truncated,
  emptied, corrupt) is named in the log and moved to `damaged/<time>/`, and the
  next older one is tried;
- a directory that holds checkpoints of which none can be read is refused
  (`CheckpointError`) rather than trained into from scratch; `restart=True`
  (the `RESTART` constant) starts from step 0 after moving every checkpoint to
  `replaced/<time>/`.
"""
import base64
import glob
import io
import json
import os
import re
import shutil
import signal
import time

import numpy as np
import tensorflow as tf
from tensorflow.python.checkpoint import checkpoint_management

from common.logs import one_line

_CONFIG_KEY = 'run_config/.ATTRIBUTES/VARIABLE_VALUE'
_SETTINGS_KEY = '_settings'  # inside run_config: the run's other settings
# Settings expected to change between a run and its resumption: not recorded, so
# that they neither raise a warning nor make otherwise equal checkpoints differ.
RESUME_MAY_CHANGE = ('MAX_STEPS', 'EPOCHS', 'N_EPOCHS', 'MODE', 'RESTART', 'CHECKPOINT_DIR',
                     'MNIST_DIR', 'VERBOSE', 'INTRA_OP_THREADS', 'INTER_OP_THREADS', 'VISUALIZE',
                     'SAVE_VIS_INTERVAL', 'PROG_FREQ', 'VIS_TRIALS', 'MAX_TIME_STEP', 'NUM_VIS',
                     'NUM_VIS_MEMORY', 'VIS_UINT8_WRAP', 'TEST_BATCHES', 'DISTRIBUTE',
                     'CPU_DEVICES')
_CKPT_FILE = re.compile(r'^ckpt-(\d+)\.(index|data-\d+-of-\d+)$')
STATE_FILE = 'checkpoint'
DAMAGED_DIR, REPLACED_DIR = 'damaged', 'replaced'


class CheckpointError(RuntimeError):
  """A checkpoint that cannot be used for this run."""


class CheckpointMismatchError(CheckpointError):
  """The checkpoint was made with other architecture settings."""


class DamagedCheckpointError(CheckpointError):
  """A checkpoint whose files cannot be read back (truncated, empty, corrupt)."""


class NumpyRNGState(tf.train.experimental.PythonState):
  """A numpy legacy RNG (a `RandomState`, default the global one behind
  `np.random.seed`) as part of a checkpoint."""

  def __init__(self, random_state=None):
    self.random_state = random_state

  def _get(self):
    return np.random.get_state() if self.random_state is None else self.random_state.get_state()

  def _set(self, state):
    if self.random_state is None:
      np.random.set_state(state)
    else:
      self.random_state.set_state(state)

  def serialize(self):
    name, keys, pos, has_gauss, cached = self._get()
    return json.dumps([name, keys.tolist(), int(pos), int(has_gauss), float(cached)])

  def deserialize(self, string_value):
    name, keys, pos, has_gauss, cached = json.loads(string_value)
    self._set((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))


class NumpyRNGStates(tf.train.experimental.PythonState):
  """Several numpy legacy RNGs (a list of `RandomState`, e.g. one per agent) as
  part of a checkpoint: saved as they are at the save, set on restore."""

  def __init__(self, random_states):
    self.random_states = list(random_states)

  def serialize(self):
    return json.dumps([[name, keys.tolist(), int(pos), int(has_gauss), float(cached)]
                       for name, keys, pos, has_gauss, cached in
                       (r.get_state() for r in self.random_states)])

  def deserialize(self, string_value):
    states = json.loads(string_value)
    if len(states) != len(self.random_states):
      raise ValueError(f'the checkpoint holds {len(states)} RNG states, this run has '
                       f'{len(self.random_states)}')
    for random_state, (name, keys, pos, has_gauss, cached) in zip(self.random_states, states):
      random_state.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))


class ArraysState(tf.train.experimental.PythonState):
  """A dict of numpy arrays saved in a checkpoint (e.g. a run's per-trial logs or a
  data cursor's permutation); `.arrays` is the dict."""

  def __init__(self, **arrays):
    self.arrays = {name: np.asarray(value) for name, value in arrays.items()}

  def serialize(self):
    buffer = io.BytesIO()
    np.savez(buffer, **self.arrays)
    return base64.b64encode(buffer.getvalue()).decode('ascii')

  def deserialize(self, string_value):
    raw = string_value.numpy() if hasattr(string_value, 'numpy') else string_value
    with np.load(io.BytesIO(base64.b64decode(raw)), allow_pickle=False) as loaded:
      self.arrays = {name: loaded[name] for name in loaded.files}


class JsonState(tf.train.experimental.PythonState):
  """A dict of plain Python values (numbers, strings, lists) saved in a checkpoint,
  e.g. a loop's running totals; `.value` is the dict."""

  def __init__(self, **value):
    self.value = value

  def serialize(self):
    return json.dumps(self.value)

  def deserialize(self, string_value):
    self.value = json.loads(string_value)


def ensure_writable_dir(directory):
  """Create `directory` if needed and check a file can be written there.

  Raises:
    CheckpointError: with a one-line message naming the directory.
  """
  probe = os.path.join(directory, '.write_test')
  try:
    os.makedirs(directory, exist_ok=True)
    with open(probe, 'w') as handle:
      handle.write('ok')
  except OSError as error:
    raise CheckpointError(f'checkpoint directory {directory!r} is not writable '
                          f'({error.strerror or error}); pass --checkpoint_dir=<a writable dir>')
  finally:
    if os.path.isfile(probe):
      os.remove(probe)


def checkpoint_files(directory):
  """`{n: [file names]}` of the `ckpt-<n>.*` files in `directory` (no state file needed)."""
  found = {}
  try:
    names = os.listdir(directory)
  except OSError:
    return found
  for name in names:
    match = _CKPT_FILE.match(name)
    if match:
      found.setdefault(int(match.group(1)), []).append(name)
  return found


def verify_checkpoint(path):
  """Reads every tensor of checkpoint `path` (TensorFlow checks each one's
  checksum); raises `DamagedCheckpointError` naming the file and what is wrong."""
  index = path + '.index'
  if not os.path.isfile(index):
    raise DamagedCheckpointError(f'{index} is missing')
  if os.path.getsize(index) == 0:
    raise DamagedCheckpointError(f'{index} is empty')
  data_files = sorted(glob.glob(glob.escape(path) + '.data-*'))
  if not data_files:
    raise DamagedCheckpointError(f'{path}.data-* is missing')
  try:
    reader = tf.train.load_checkpoint(path)
    for key in reader.get_variable_to_shape_map():
      reader.get_tensor(key)
  # A truncated data file raises IndexError from the bundle reader, a flipped
  # byte a DataLossError (checksum), a damaged index an OpError.
  except Exception as error:  # pylint: disable=broad-except
    message = one_line(error)
    if 'checksum' in message.lower():
      what = f'{", ".join(data_files)} is corrupt (its checksum does not match)'
    elif isinstance(error, IndexError) or 'less bytes' in message.lower():
      what = f'{", ".join(data_files)} is truncated'
    elif 'sstable' in message.lower() or 'index' in message.lower():
      what = f'{index} is damaged'
    else:
      what = f'{path} cannot be read'
    raise DamagedCheckpointError(f'{what} ({message})') from None


def _free_path(path):
  """`path`, or `path-2`, `path-3`, ... : the first name not taken."""
  candidate, suffix = path, 1
  while os.path.lexists(candidate):
    suffix += 1
    candidate = f'{path}-{suffix}'
  return candidate


def _move_aside(directory, names, folder):
  """Moves `names` of `directory` into `directory/folder/<time>/`; returns that folder.

  Raises:
    CheckpointError: the files cannot be moved (one line).
  """
  parent = os.path.join(directory, folder)
  if os.path.lexists(parent) and not os.path.isdir(parent):  # a file where the folder goes
    parent = _free_path(parent)
  target = _free_path(os.path.join(parent, time.strftime('%Y%m%d-%H%M%S')))
  try:
    os.makedirs(target)
    for name in names:
      source = os.path.join(directory, name)
      if os.path.lexists(source):
        shutil.move(source, os.path.join(target, name))
  except OSError as error:
    raise CheckpointError(f'cannot move {", ".join(names)} of {directory} aside into {target} '
                          f'({error.strerror or error}); nothing was deleted') from None
  return target


class CheckpointKeeper:
  """Owns the run's `tf.train.Checkpoint` and its manager.

  Args:
    directory: where checkpoints go (`<CHECKPOINT_DIR>/ckpt-<n>`).
    config: dict of the settings that define the architecture/data; stored in
      the checkpoint and compared on restore (a key the checkpoint does not record,
      from an older version, is not compared).
    settings: dict of every other setting of the run, also stored; a resumed run
      whose settings differ gets a warning naming them (e.g. another --lr).
    optional: names of `objects` that checkpoints of an older version lack; such a
      checkpoint restores everything else (strictly) and leaves these as they are.
    max_to_keep: checkpoints kept on disk.
    data_rng: the numpy `RandomState` of the data stream to save (None: numpy's
      global RNG).
    logger: where warnings about damaged or replaced checkpoints go (None: print).
    restart: start from step 0 even if `directory` holds checkpoints (moved
      aside to `replaced/<time>/`, never deleted).
    **objects: trackables to save (models, optimiser, generators, ...).
  """

  def __init__(self, directory, config, max_to_keep=3, data_rng=None, logger=None,
               restart=False, settings=None, optional=(), **objects):
    self.directory = directory
    self.config = dict(config)
    self.settings = {k: v for k, v in (settings or {}).items()
                     if k not in self.config and k not in RESUME_MAY_CHANGE}
    self.max_to_keep = max_to_keep
    self.logger = logger
    self.restart = restart
    self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name='step')
    recorded = dict(self.config, **({_SETTINGS_KEY: self.settings} if self.settings else {}))
    self.run_config = tf.Variable(json.dumps(recorded, sort_keys=True), dtype=tf.string,
                                  trainable=False, name='run_config')
    self.objects = dict(step=self.step, run_config=self.run_config,
                        data_rng=NumpyRNGState(data_rng), **objects)
    self.optional = tuple(optional)
    self.checkpoint = tf.train.Checkpoint(**self.objects)
    self.manager = self._new_manager()
    self.restored_path = None

  def _new_manager(self):
    try:
      return tf.train.CheckpointManager(self.checkpoint, self.directory, self.max_to_keep)
    except (ValueError, tf.errors.OpError) as error:  # e.g. an empty state file
      target = _move_aside(self.directory, [STATE_FILE], DAMAGED_DIR)
      self._warn(f'the checkpoint state file {os.path.join(self.directory, STATE_FILE)} is '
                 f'unreadable ({one_line(error)}); moved to {target}, the checkpoints are '
                 'found from their own files')
      return tf.train.CheckpointManager(self.checkpoint, self.directory, self.max_to_keep)

  def _warn(self, message):
    if self.logger is not None:
      self.logger.warning(message)
    else:
      print(f'warning: {message}', flush=True)

  @property
  def latest(self):
    """The checkpoint restored or saved last (None before either)."""
    return self.restored_path or self.manager.latest_checkpoint

  def candidates(self):
    """Checkpoint paths found from the files on disk, newest first."""
    return [os.path.join(self.directory, f'ckpt-{n}')
            for n in sorted(checkpoint_files(self.directory), reverse=True)]

  def saved_config(self, path):
    try:
      raw = tf.train.load_checkpoint(path).get_tensor(_CONFIG_KEY)
    except Exception as error:  # pylint: disable=broad-except
      raise DamagedCheckpointError(f'cannot read the settings stored in {path!r} '
                                   f'({one_line(error)})') from None
    return json.loads(raw.decode() if isinstance(raw, bytes) else raw)

  def suggested_directory(self, diffs):
    """A directory name for this run's settings, next to this one."""
    tail = '_'.join(f'{k.lower()}{self.config.get(k)}' for k in diffs)
    return f'{self.directory.rstrip(os.sep)}_{tail}'

  def check_compatible(self, path):
    saved = self.saved_config(path)
    saved_settings = saved.pop(_SETTINGS_KEY, {})
    keys = [k for k in sorted(set(saved) | set(self.config))
            if k in saved and saved.get(k) != self.config.get(k)]
    foreign = [k for k in sorted(saved) if k not in self.config]
    if foreign:
      raise CheckpointMismatchError(
          f'checkpoint {path!r} was made by another program or subproject (it records '
          f'{", ".join(foreign[:5])}{" ..." if len(foreign) > 5 else ""}, which this run does '
          'not have); pass another --checkpoint_dir')
    if keys:
      shown = [f'{k}={saved.get(k)!r} (this run: {self.config.get(k)!r})' for k in keys[:5]]
      more = f' and {len(keys) - 5} more' if len(keys) > 5 else ''
      raise CheckpointMismatchError(
          f'checkpoint {path!r} was made with another configuration: {"; ".join(shown)}{more}. '
          f'Use the same settings, or --checkpoint_dir={self.suggested_directory(keys[:5])} '
          'for this one')
    changed = [f'--{k.lower()}={self.settings[k]!r} (was {saved_settings[k]!r})'
               for k in sorted(self.settings) if k in saved_settings
               and k not in RESUME_MAY_CHANGE and saved_settings[k] != self.settings[k]]
    if changed:
      self._warn(f'resuming {path} with settings that differ from the run that saved it: '
                 f'{", ".join(changed)}')

  def _restore_path(self, path):
    self.check_compatible(path)
    checkpoint = self.checkpoint
    if self.optional:
      saved = tf.train.load_checkpoint(path).get_variable_to_shape_map()
      missing = [name for name in self.optional if not any(k.startswith(name + '/') for k in saved)]
      if missing:
        checkpoint = tf.train.Checkpoint(**{k: v for k, v in self.objects.items()
                                            if k not in missing})
    try:
      checkpoint.restore(path).assert_consumed()
    except (AssertionError, ValueError, tf.errors.OpError) as error:
      raise CheckpointError(f'checkpoint {path!r} does not fit this model: '
                            f'{one_line(str(error).strip().splitlines()[0])}') from None
    return int(self.step.numpy())

  def _set_aside_everything(self):
    names = [name for files in checkpoint_files(self.directory).values() for name in files]
    if os.path.exists(os.path.join(self.directory, STATE_FILE)):
      names.append(STATE_FILE)
    if names:
      target = _move_aside(self.directory, names, REPLACED_DIR)
      self._warn(f'--restart: {len(names)} checkpoint file(s) of {self.directory} moved to '
                 f'{target}; training from step 0')
    self.manager = self._new_manager()

  def restore(self, train=True):
    """Restores the newest readable checkpoint of the directory.

    Args:
      train: for training (damaged checkpoints are moved aside and the state file
        rewritten); False (test mode) leaves the directory as it is.
    Returns:
      The restored step, or None when the directory holds no checkpoint (or
      `restart` was asked for).
    Raises:
      CheckpointMismatchError: the newest readable checkpoint has other settings.
      CheckpointError: it does not fit the model, or none of the checkpoints
        on disk can be read.
    """
    if self.restart:
      self._set_aside_everything()
      return None
    candidates = self.candidates()
    if not candidates:
      return None
    damaged = []
    for path in candidates:
      try:
        verify_checkpoint(path)
        self.saved_config(path)
      except DamagedCheckpointError as error:
        damaged.append((path, str(error)))
        self._warn(f'checkpoint {path} is damaged: {error}')
        continue
      step = self._restore_path(path)
      self.restored_path = path
      if train:
        self._repair(path, damaged)
      elif damaged:
        self._warn(f'testing the older checkpoint {path}; the damaged one(s) stay where they are')
      return step
    advice = ('Pass --restart to train from scratch (it moves them to '
              f'{os.path.join(self.directory, REPLACED_DIR)}/), or another --checkpoint_dir'
              if train else 'Nothing to test; pass another --checkpoint_dir')
    raise CheckpointError(
        f'none of the {len(candidates)} checkpoint(s) in {self.directory} can be read '
        f'(newest: {damaged[0][1]}); nothing was changed. {advice}')

  def _repair(self, restored, damaged):
    """Moves damaged checkpoints aside and rewrites the state file to list what is on disk."""
    if damaged:
      names = []
      for path, _ in damaged:
        prefix = os.path.basename(path) + '.'
        names += [n for n in os.listdir(self.directory) if n.startswith(prefix)]
      target = _move_aside(self.directory, names, DAMAGED_DIR)
      self._warn(f'restored the older checkpoint {restored}; the damaged one(s) '
                 f'({", ".join(os.path.basename(p) for p, _ in damaged)}) were moved to {target}')
    state = None
    try:
      state = tf.train.get_checkpoint_state(self.directory)
    except Exception:  # pylint: disable=broad-except
      pass
    on_disk = list(reversed(self.candidates()))  # oldest first, as the state file lists them
    listed = list(state.all_model_checkpoint_paths) if state else []
    if (state is None or os.path.basename(state.model_checkpoint_path) != os.path.basename(restored)
        or [os.path.basename(p) for p in listed] != [os.path.basename(p) for p in on_disk]):
      if state is None:
        self._warn(f'the checkpoint state file of {self.directory} was missing or unreadable; '
                   f'found {len(on_disk)} checkpoint(s) from their files and rewrote it')
      # With their files' times, so that the manager rotates them out as before.
      times = [os.path.getmtime(path + '.index') for path in on_disk]
      checkpoint_management.update_checkpoint_state_internal(
          self.directory, restored, all_model_checkpoint_paths=on_disk, save_relative_paths=True,
          all_model_checkpoint_timestamps=times, last_preserved_timestamp=min(times) - 1.0)
      self.manager = self._new_manager()

  def save(self, step):
    """Saves checkpoint `step`. Raises CheckpointError (one line) when it cannot be
    written, e.g. a full disk; the checkpoints saved before are kept."""
    self.step.assign(step)
    try:
      path = self.manager.save(checkpoint_number=step)
    except (tf.errors.OpError, OSError) as error:
      partial = os.path.join(self.directory, f'ckpt-{step}_temp')
      shutil.rmtree(partial, ignore_errors=True)
      message = one_line(getattr(error, 'message', None) or error)
      kept = (f'the last saved one ({self.latest}) is kept' if self.latest
              else 'no checkpoint was saved before')
      raise CheckpointError(f'cannot save checkpoint {step} in {self.directory} ({message}); '
                            f'{kept}') from None
    self.restored_path = None
    return path


class SaveSchedule:
  """When to save: every `every_steps` steps and/or `every_minutes` after the
  last save (0 turns either off)."""

  def __init__(self, every_steps=0, every_minutes=0.0, clock=time.monotonic):
    self.every_steps, self.every_seconds = every_steps, every_minutes * 60.0
    self.clock = clock
    self.last = clock()

  def due(self, step):
    if self.every_steps and step % self.every_steps == 0:
      return True
    return bool(self.every_seconds) and self.clock() - self.last >= self.every_seconds

  def saved(self):
    self.last = self.clock()


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
