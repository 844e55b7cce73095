"""IDX writers for tests that need MNIST-format files they can make themselves."""
import gzip
import os
import struct

import numpy as np

FILE_NAMES = ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte',
              't10k-labels-idx1-ubyte')


def idx_images_bytes(images):
  """Raw IDX3 bytes for uint8 images [N, rows, cols]."""
  images = np.asarray(images, dtype=np.uint8)
  n, rows, cols = images.shape
  return struct.pack(">IIII", 2051, n, rows, cols) + images.tobytes()


def idx_labels_bytes(labels):
  """Raw IDX1 bytes for labels [N]."""
  labels = np.asarray(labels, dtype=np.uint8)
  return struct.pack(">II", 2049, labels.shape[0]) + labels.tobytes()


def write_synthetic_mnist(directory, num_train=1024, num_test=256, seed=0):
  """Gzipped IDX files of digit-sized random strokes (for runs, not for accuracy)."""
  rng = np.random.default_rng(seed)

  def images(count):
    canvas = np.zeros((count, 28, 28), np.uint8)
    rows, cols = rng.integers(4, 20, (2, count))
    for i in range(count):  # a bright 8x8 block somewhere in the middle, like ink
      canvas[i, rows[i]:rows[i] + 8, cols[i]:cols[i] + 8] = rng.integers(128, 256, (8, 8))
    return canvas

  arrays = (images(num_train), rng.integers(0, 10, num_train), images(num_test),
            rng.integers(0, 10, num_test))
  os.makedirs(directory, exist_ok=True)
  for name, array in zip(FILE_NAMES, arrays):
    raw = idx_images_bytes(array) if 'images' in name else idx_labels_bytes(array)
    with gzip.open(os.path.join(directory, name + '.gz'), 'wb') as handle:
      handle.write(raw)
  return directory
