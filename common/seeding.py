"""One seed, separate random streams: the same command gives the same run.

A run draws from several independent streams, each derived from the run's seed
and a stream name, so that changing how often something is evaluated or drawn
never changes what training sees:

- `DATA`: the training batches (a numpy RNG; saved in the checkpoint);
- `MODEL`: the model's own sampling during training (a `tf.random.Generator`;
  saved in the checkpoint);
- `EVAL` and `VIS`: evaluation and visualisation, re-seeded from
  `(seed, stream, step or epoch)` before each use, so they neither disturb the
  training streams nor depend on when they ran before.

`seed_everything` also seeds Python's `random` (Keras draws unseeded
initialisers' seeds from it), numpy's legacy global RNG and TensorFlow's global
seed, and turns on TensorFlow's op determinism.
"""
import random

import numpy as np

DATA, MODEL, EVAL, VIS, TEST = 'data', 'model', 'eval', 'vis', 'test'
_STREAM_IDS = {DATA: 1, MODEL: 2, EVAL: 3, VIS: 4, TEST: 5}
SEED_MAX = 2 ** 32 - 1  # numpy's legacy RandomState accepts 0..2**32-1


def stream_seed(seed, stream, *path):
  """A 63-bit seed for `stream` (a name above) and an optional path of ints
  (e.g. an epoch), independent of every other (stream, path)."""
  # The path's length goes in too: numpy's SeedSequence pads entropy with zeros,
  # so (seed, stream) and (seed, stream, 0) would otherwise collide.
  entropy = [int(seed), _STREAM_IDS[stream], len(path), *[int(p) for p in path]]
  return int(np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0] >> np.uint64(1))


def numpy_stream(seed, stream, *path):
  """A legacy `np.random.RandomState` for the stream (picklable, checkpointable)."""
  return np.random.RandomState(stream_seed(seed, stream, *path) % (SEED_MAX + 1))


def seed_everything(seed, deterministic=True):
  """Seeds Python, numpy's global RNG and TensorFlow; op determinism on.

  Call once, after TensorFlow is imported and before any model is built.
  """
  import tensorflow as tf
  random.seed(seed)
  np.random.seed(seed)
  tf.random.set_seed(seed)
  if deterministic:
    tf.config.experimental.enable_op_determinism()


def tf_generator(seed, stream, *path):
  """A `tf.random.Generator` (Philox) for the stream."""
  import tensorflow as tf
  return tf.random.Generator.from_seed(stream_seed(seed, stream, *path))


def reseed(generator, seed, stream, *path):
  """Resets an existing `tf.random.Generator` to the stream's start (keeps
  compiled functions that captured it valid)."""
  generator.reset_from_seed(stream_seed(seed, stream, *path))
  return generator
