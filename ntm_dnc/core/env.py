"""Task environments (pytorch-dnc `core/env.py`, `core/envs/`).

Each `reset()` / `step()` generates a fresh batch with a numpy legacy RNG, in the
original's call order (lengths, repeats, then each sample's bits): `rng`, a
`np.random.RandomState` (`RandomState(1)` gives what the original's
`np.random.seed(1)` gives), or numpy's global RNG when none is given. Batches are
time-major: input `[T, B, len_word + 2]`, target and mask `[T, B, action_dim]`.

The original's batches have a varying length T. To run every batch through one
compiled graph, batches are zero-padded to `max_time` (the longest T the env can
produce, or a multiple of `time_bucket`); the natural T travels with the batch
because the original's loss divides by it.
"""
import collections

import numpy as np

Experience = collections.namedtuple('Experience', ('state0', 'action', 'reward', 'state1',
                                                   'terminal1'))
Batch = collections.namedtuple('Batch', ('input', 'target', 'mask', 'time'))


class Env:

  def __init__(self, params, logger=None, rng=None):
    self.rng = np.random if rng is None else rng
    self.batch_size = params.batch_size
    self.len_word = params.len_word
    self.min_num_words, self.max_num_words = params.min_num_words, params.max_num_words
    self.time_bucket = getattr(params, 'time_bucket', 0)
    if not 1 <= self.min_num_words <= self.max_num_words:
      raise ValueError(f'need 1 <= min_num_words <= max_num_words, got '
                       f'{self.min_num_words}, {self.max_num_words}')
    self.seed = params.seed
    self.logger = logger
    self.exp_state1 = None

  def _log_banner(self, name):
    if self.logger:
      self.logger.info('<-----------------------------======> Env:')
      self.logger.info(f'Creating {{{name} | }} w/ Seed: {self.seed}')
      self.logger.info(f'Word     {{length}}:   {{{self.len_word}}}')
      self.logger.info(f'Words #  {{min, max}}: {{{self.min_num_words}, {self.max_num_words}}}')

  @property
  def state_shape(self):
    return self.len_word + 2

  def padded_time(self, time):
    """Length a batch of natural length `time` is padded to."""
    if self.time_bucket:
      return -(-time // self.time_bucket) * self.time_bucket
    return self.max_time

  def _generate_batch(self):
    raise NotImplementedError

  def _new_batch(self):
    inputs, targets, masks, time = self._generate_batch()
    padded = self.padded_time(time)
    pad = [(0, padded - time), (0, 0), (0, 0)]
    # Batch-major as generated, then time-major (`_preprocessState`).
    to_time_major = lambda x: np.pad(np.transpose(x, (1, 0, 2)), pad).astype(np.float32)
    return Batch(to_time_major(inputs), to_time_major(targets), to_time_major(masks), time)

  def reset(self):
    self.exp_state1 = self._new_batch()
    return Experience(None, None, None, self.exp_state1, None)

  def step(self, action_index=0):
    self.exp_state1 = self._new_batch()
    return Experience(None, action_index, None, self.exp_state1, None)

  def visual(self, batch, output=None, index=0):
    """Text rendering of sample `index`: one line per channel, '-' for 0.
    `output`: optional `[T, B, D]` probabilities, shown rounded on masked steps."""
    rows = [('input', batch.input), ('target', batch.target), ('mask', batch.mask)]
    if output is not None:
      rows.append(('output', np.round(output * batch.mask[:len(output)])))
    lines = []
    for label, array in rows:
      seq = array[:batch.time, index, :].T
      lines.append(f'+ {label}')
      for channel in seq:
        lines.append('+' + ''.join('-' if v == 0 else f'{v:g}'[0] for v in channel) + '+')
    return '\n'.join(lines)


class CopyEnv(Env):
  """Copy: start flag, n random words, end flag, then reproduce the n words."""

  def __init__(self, params, logger=None, rng=None):
    super().__init__(params, logger, rng)
    self.max_time = 2 * self.max_num_words + 2
    self._log_banner('copy')

  @property
  def action_dim(self):
    return self.len_word

  def _generate_batch(self):
    lengths = self.rng.randint(self.min_num_words, self.max_num_words + 1, size=self.batch_size)
    time = 2 * int(lengths.max()) + 2
    L = self.len_word
    inputs = np.zeros((self.batch_size, time, L + 2))
    targets = np.zeros((self.batch_size, time, L))
    masks = np.zeros((self.batch_size, time, L))
    for b, n in enumerate(lengths):
      bits = self.rng.randint(2, size=(n, L))
      inputs[b, 0, L] = 1                          # start flag
      inputs[b, 1:n + 1, :L] = bits
      inputs[b, n + 1, L + 1] = 1                  # end flag
      targets[b, n + 2:2 * n + 2] = bits
      masks[b, n + 2:2 * n + 2] = 1
    return inputs, targets, masks, time


class RepeatCopyEnv(Env):
  """Repeat-copy: n words, then the repeat count r/norm on the flag channel,
  then the words r times and an end marker on an extra output channel."""

  def __init__(self, params, logger=None, rng=None):
    super().__init__(params, logger, rng)
    self.min_repeats, self.max_repeats = params.min_repeats, params.max_repeats
    self.max_repeats_norm = params.max_repeats_norm
    if not 1 <= self.min_repeats <= self.max_repeats:
      raise ValueError(f'need 1 <= min_repeats <= max_repeats, got '
                       f'{self.min_repeats}, {self.max_repeats}')
    self.max_time = self.max_num_words * (self.max_repeats + 1) + 3
    self._log_banner('repeat-copy')
    if logger:
      logger.info(f'Repeats  {{min, max}}: {{{self.min_repeats}, {self.max_repeats}}}')

  @property
  def action_dim(self):
    return self.len_word + 1

  def _generate_batch(self):
    lengths = self.rng.randint(self.min_num_words, self.max_num_words + 1, size=self.batch_size)
    repeats = self.rng.randint(self.min_repeats, self.max_repeats + 1, size=self.batch_size)
    time = int(lengths.max()) * (int(repeats.max()) + 1) + 3
    L = self.len_word
    inputs = np.zeros((self.batch_size, time, L + 2))
    targets = np.zeros((self.batch_size, time, L + 1))
    masks = np.zeros((self.batch_size, time, L + 1))
    for b, (n, r) in enumerate(zip(lengths, repeats)):
      bits = self.rng.randint(2, size=(n, L))
      inputs[b, 0, L] = 1                                    # start flag
      inputs[b, 1:n + 1, :L] = bits
      inputs[b, n + 1, L + 1] = r / self.max_repeats_norm    # repeat count / delimiter
      end = n * (r + 1) + 2
      targets[b, n + 2:end, :L] = np.tile(bits, (r, 1))
      targets[b, end, L] = 1                                 # end marker
      masks[b, n + 2:end + 1] = 1
    return inputs, targets, masks, time

  def visual(self, batch, output=None, index=0):
    # Show the repeat count, not its normalised value.
    shown = batch._replace(input=batch.input.copy())
    shown.input[:, :, -1] *= self.max_repeats_norm
    return super().visual(shown, output, index)
