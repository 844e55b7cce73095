"""The original's MNIST recall figure (multigrid_memory spec 5.4), as PNG.

A 61 x 325 canvas of grey (127) scaled x10 to 610 x 3250 px: the T input digits
along the top row (digit t at x = 33 t), the query digit under its position k
on the bottom row, and the predicted class as text just right of the query,
green if right, red if wrong.
"""
import os

import cv2
import numpy as np

from common import visualize

GREY, SCALE, STRIDE = 127, 10, 33
RIGHT, WRONG = (0, 255, 0), (0, 0, 255)  # BGR


def recall_figure(digits, k, predicted, target):
  """Args: digits `[T, 28, 28]` (0-255), k the query position, predicted and target
  classes. Returns the BGR uint8 image `[610, 33 T * 10 - 50, 3]` (3250 px for T = 10)."""
  steps = len(digits)
  canvas = np.full((61, STRIDE * (steps - 1) + 28, 3), GREY, np.uint8)
  pixels = np.clip(np.asarray(digits), 0, 255).astype(np.uint8)
  for t in range(steps):
    canvas[:28, STRIDE * t:STRIDE * t + 28] = pixels[t][..., None]
  canvas[33:61, STRIDE * k:STRIDE * k + 28] = pixels[k][..., None]
  image = np.ascontiguousarray(np.repeat(np.repeat(canvas, SCALE, 0), SCALE, 1))
  colour = RIGHT if predicted == target else WRONG
  cv2.putText(image, str(int(predicted)), ((k + 1) * STRIDE * SCALE + 20, 590),
              cv2.FONT_HERSHEY_SIMPLEX, 10, colour, 2)
  return image


def write_figures(directory, batch, predictions, count, prefix='00'):
  """`count` sequences of a `Batch` as `<directory>/<prefix>_<II>.png`. Returns the paths."""
  steps = batch.images.shape[0] // len(batch.target)
  images = batch.images[..., 0].reshape(steps, len(batch.target), 28, 28)
  paths = []
  for index in range(min(count, len(batch.target))):
    path = os.path.join(directory, f'{prefix}_{index:02d}.png')
    visualize.save_png(path, recall_figure(images[:, index], batch.k, predictions[index],
                                           batch.target[index]), border=0)
    paths.append(path)
  return paths
