"""MNIST associative recall batches (trihuynh88/multigrid_mem `generate_input_output`;
multigrid_memory spec 4.2).

A cursor walks over the (current order of the) image set: each batch takes the next
`B T` images, image `t B + b` being time step t of sequence b (time-major). When
fewer than `B T` remain, the whole set is permuted (numpy) and the cursor starts
again; the first pass is in file order (the original's quirk; `shuffle_first`
permutes it too). One query position k ~ randint(0, T - 2)
(Python's `random`, as the original) serves the whole batch: the query is the
image at position k itself, the target the class of the image at k + 1. Pixels
stay 0-255 floats, unnormalised.

Shapes: `B` batch, `T` sequence length.
"""
import collections
import random

import numpy as np

# One batch: images `[T B, 28, 28, 1]` (row t B + b = step t of sequence b), query
# `[B, 28, 28, 1]`, target `[B]` int (the class after the query), k (the query position).
Batch = collections.namedtuple('Batch', ('images', 'query', 'target', 'k'))


class RecallData:
  """Args:
    images: `[N, 28, 28]` uint8; labels: `[N]`.
    batch_size: B (the original's 32); seq_len: T (10).
    numpy_rng: `np.random.RandomState` for the permutations; python_rng:
      `random.Random` for the query positions (checkpoint both with the cursor).
  """

  def __init__(self, images, labels, batch_size=32, seq_len=10, numpy_rng=None, python_rng=None,
               shuffle_first=False):
    if len(images) != len(labels):
      raise ValueError(f'{len(images)} images but {len(labels)} labels')
    if seq_len < 2:
      raise ValueError(f'seq_len={seq_len} must be >= 2 (the query needs a next digit)')
    if batch_size * seq_len > len(images):
      raise ValueError(f'batch_size={batch_size} x seq_len={seq_len} = {batch_size * seq_len} '
                       f'images per batch, but the set has only {len(images)}')
    self.images, self.labels = images, np.asarray(labels)
    self.batch_size, self.seq_len = batch_size, seq_len
    self.numpy_rng = numpy_rng if numpy_rng is not None else np.random.RandomState()
    self.python_rng = python_rng if python_rng is not None else random.Random()
    self.order = (self.numpy_rng.permutation(len(images)) if shuffle_first
                  else np.arange(len(images)))  # the original's first pass: file order
    self.cursor = 0

  def next_batch(self):
    """The next `Batch`."""
    count = self.batch_size * self.seq_len
    if self.cursor + count > len(self.order):
      self.order = self.numpy_rng.permutation(len(self.images))
      self.cursor = 0
    picked = self.order[self.cursor:self.cursor + count]
    self.cursor += count
    images = self.images[picked].astype(np.float32)[..., None]        # [T B, 28, 28, 1]
    labels = self.labels[picked].reshape(self.seq_len, self.batch_size)
    k = self.python_rng.randint(0, self.seq_len - 2)
    query = images[k * self.batch_size:(k + 1) * self.batch_size]
    return Batch(images, query, labels[k + 1].astype(np.int64), k)

  def state(self):
    """What a checkpoint must hold to continue the same stream (JSON-friendly)."""
    version, internal, gauss = self.python_rng.getstate()
    name, keys, pos, has_gauss, cached = self.numpy_rng.get_state()
    return {'cursor': int(self.cursor), 'order': self.order.tolist(),
            'python_rng': [version, list(internal), gauss],
            'numpy_rng': [name, keys.tolist(), int(pos), int(has_gauss), float(cached)]}

  def set_state(self, state):
    self.cursor = int(state['cursor'])
    self.order = np.asarray(state['order'])
    version, internal, gauss = state['python_rng']
    self.python_rng.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state['numpy_rng']
    self.numpy_rng.set_state((name, np.array(keys, np.uint32), pos, has_gauss, cached))
