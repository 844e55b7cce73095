"""Epoch-wise minibatches of MNIST digits on centered, translated or cluttered canvases.

The shared MNIST pipeline for the attention and memory subprojects (spec
recurrent_attention.md 4.1-4.4). Canvases are re-drawn for every epoch (the
original re-randomises training and test images alike), one minibatch at a
time from the uint8 digits, then normalised to [-1, 1] (`2x - 1`, background
-1). Randomness is a pure function of `(seed, stream, epoch, batch)`: a run
resumed in the middle of an epoch sees exactly the batches it would have seen,
with no RNG state to save. Generating a batch of 128 cluttered canvases takes
about a millisecond, far below a training step.
"""
import numpy as np

from common.data import transforms

KINDS = ('centered', 'translated', 'cluttered')
TRAIN_STREAM, TEST_STREAM = 0, 1


class DigitCanvases:
  """Batches of one split (training or test) of MNIST for one task.

  Args:
    images: `[N, 28, 28]` uint8 digits.
    labels: `[N]` integer labels.
    kind: 'centered' (the digits as they are), 'translated' or 'cluttered'.
    canvas_size: `S` for translated / cluttered (60 in the original).
    num_pieces: clutter pieces per canvas (4).
    piece_size: clutter piece side (8).
    clutter_sources: `[M, 28, 28]` uint8 or None. None (the original): clutter
      is cut from the digits of the same minibatch; given: from random digits
      of this array (the paper's "other random digits").
  """

  def __init__(self, images, labels, kind, canvas_size=60, num_pieces=4, piece_size=8,
               clutter_sources=None):
    if kind not in KINDS:
      raise ValueError(f'unknown canvas kind {kind!r}; choose one of: {", ".join(KINDS)}')
    images = np.asarray(images)
    if images.ndim != 3 or images.dtype != np.uint8:
      raise ValueError(f'images must be [N, h, w] uint8, got {images.dtype} {images.shape}')
    if len(labels) != len(images):
      raise ValueError(f'{len(images)} images but {len(labels)} labels')
    if kind != 'centered' and canvas_size < max(images.shape[1:]):
      raise ValueError(f'canvas_size {canvas_size} is smaller than the digits '
                       f'({images.shape[1]}x{images.shape[2]})')
    self.images, self.labels = images, np.asarray(labels, dtype=np.int32)
    self.kind, self.num_pieces, self.piece_size = kind, num_pieces, piece_size
    self.canvas_size = images.shape[1] if kind == 'centered' else canvas_size
    self.clutter_sources = clutter_sources

  def __len__(self):
    return len(self.images)

  def num_batches(self, batch_size):
    """Batches per epoch; the last one may be smaller (PyTorch's drop_last=False)."""
    return -(-len(self.images) // batch_size)

  def order(self, seed, stream, epoch, shuffle):
    """`[N]` the epoch's example order: a permutation drawn from (seed, stream, epoch)."""
    if not shuffle:
      return np.arange(len(self.images))
    return np.random.default_rng([seed, stream, epoch]).permutation(len(self.images))

  def batch(self, indices, seed, stream, epoch, batch_index):
    """One minibatch: `([b, S, S]` float32 in [-1, 1], `[b]` int32 labels)."""
    digits = self.images[indices]
    rng = np.random.default_rng([seed, stream, epoch, batch_index + 1])
    if self.kind == 'translated':
      digits = transforms.translate(digits, self.canvas_size, rng=rng, background=0)
    elif self.kind == 'cluttered':
      digits = transforms.clutter(digits, self.canvas_size, self.num_pieces, self.piece_size,
                                  rng=rng, source_images=self.clutter_sources, background=0)
    return transforms.normalize(digits), self.labels[indices]

  def epoch(self, batch_size, seed, stream, epoch, shuffle, start=0):
    """Yields the epoch's minibatches from batch index `start` on.

    Args:
      batch_size: examples per batch.
      seed: the run's seed.
      stream: TRAIN_STREAM or TEST_STREAM, so the splits draw independent numbers.
      epoch: epoch number; every epoch re-draws order and canvases.
      shuffle: draw a new order each epoch (training) or keep the stored one.
      start: first batch index (to resume in the middle of an epoch).
    Yields:
      `(images [b, S, S] float32, labels [b] int32)`.
    """
    order = self.order(seed, stream, epoch, shuffle)
    for index in range(start, self.num_batches(batch_size)):
      yield self.batch(order[index * batch_size:(index + 1) * batch_size], seed, stream, epoch,
                       index)
