"""The MNIST recall figures (multigrid_memory spec 5.4), as PNG.

`recall_figure`, the original's: a 61 x 325 canvas of grey (127) scaled x10 to
610 x 3250 px: the T input digits along the top row (digit t at x = 33 t), the
query digit under its position k on the bottom row, and the predicted class as
text just right of the query, green if right, red if wrong.

`write_memory_frames`, beyond the original's MNIST code (which draws none): what
the memory holds after each time step, the LSTM panel of `lstm_panel` for all 15
writer cells (rows W1..W5, a column group per grid), beside the digit just
written; one PNG per step and an animated GIF per sequence.
"""
import os

import cv2
import numpy as np

from common import visualize
from multigrid_memory import lstm_panel
from multigrid_memory.mnist_recall.model import SIZES, WRITER_CHANNELS

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


def write_memory_frames(directory, trace, batch, index, wrap=False, frame_ms=600):
  """The per-step memory panels of sequence `index` of a `Batch`.

  Args:
    trace: the model's `trace` of the batch ('<cell>/c', '<cell>/h' `[T, B, S, S, C]`).
    wrap: the original's grey uint8 mapping with wrap-around (VIS_UINT8_WRAP).
  Writes `<directory>/memory_<II>_t<TT>.png` for every step t and `memory_<II>.gif`;
  returns the paths (PNGs first).
  """
  steps = batch.images.shape[0] // len(batch.target)
  digits = batch.images[..., 0].reshape(steps, len(batch.target), 28, 28)[:, index]
  rows = [[f'W{layer}_{level}' for level in range(len(SIZES))]
          for layer in range(1, len(WRITER_CHANNELS) + 1)]
  statistics = lstm_panel.channel_statistics(trace, [c for row in rows for c in row], index)
  value_scales = lstm_panel.scales(statistics)
  frames, paths = [], []
  for t in range(steps):
    note = ': the query' if t == batch.k else (': the answer' if t == batch.k + 1 else '')
    digit = visualize.upscale(np.clip(digits[t], 0, 255).astype(np.uint8), 3)
    left = visualize.vstack([visualize.text_strip(f'input t = {t}{note}', 200), digit])
    body = visualize.hstack([left, lstm_panel.panel(statistics, rows, [f'W{r}' for r in range(
        1, len(rows) + 1)], t, value_scales, wrap=wrap)], gap=24)
    title = (f'sequence {index} | after time step {t} of {steps} | memory: mean and variance '
             'over channels of every writer cell\'s c and h')
    frame = visualize.vstack([visualize.text_strip(title, body.shape[1], visualize.LABEL_SCALE),
                              body], gap=8)
    path = os.path.join(directory, f'memory_{index:02d}_t{t:02d}.png')
    frames.append(visualize.save_png(path, frame))
    paths.append(path)
  paths.append(visualize.animation(frames, os.path.join(directory, f'memory_{index:02d}.gif'),
                                   frame_ms=frame_ms))
  return paths
