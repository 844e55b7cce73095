"""The multigrid original's "LSTM panel" (multigrid_memory spec 5.4): for writer
cells, the mean and the variance over channels of their cell state c and of
their output h at one time step, one small map each, shared by both tasks.

Unlike the original, each of the four quantities has its own colour scale, fixed
over all the frames of one sequence (so frames can be compared) and shown as a
labelled colour bar, and nothing wraps around; `wrap=True` draws the original's
grey (v + 1) / 2 * 255 cast to uint8, wrap-around included.
"""
import numpy as np

from common import visualize

QUANTITIES = ('c mean', 'c variance', 'h mean', 'h variance')


def channel_statistics(trace, cells, element):
  """Args:
    trace: per-step states by name, '<cell>/c' and '<cell>/h' `[T, B, S, S, C]`
      (the models' `trace`), numpy or tensors.
    cells: the cell names to draw (e.g. 'W5_2').
    element: the batch element b.
  Returns:
    {cell: `[T, 4, S, S]` float64}: c mean, c variance, h mean, h variance over channels.
  """
  out = {}
  for cell in cells:
    c = np.asarray(trace[f'{cell}/c'], np.float64)[:, element]
    h = np.asarray(trace[f'{cell}/h'], np.float64)[:, element]
    out[cell] = np.stack([c.mean(-1), c.var(-1), h.mean(-1), h.var(-1)], axis=1)
  return out


def scales(statistics):
  """(min, max) of each quantity over all cells and steps: 4 pairs."""
  stacked = [np.concatenate([s[:, q].ravel() for s in statistics.values()])
             for q in range(len(QUANTITIES))]
  return [(float(v.min()), float(v.max())) for v in stacked]


def panel(statistics, rows, row_titles, step, value_scales, wrap=False, tile_px=84):
  """One time step's panel.

  Args:
    statistics: `channel_statistics`' result.
    rows: a list of rows, each a list of cell names (one column group of four
      tiles per cell: c mean, c variance, h mean, h variance).
    row_titles: a title per row (e.g. 'W3').
    step: the time step t drawn.
    value_scales: `scales(statistics)` (or other fixed ranges).
    wrap: the original's grey uint8 mapping with wrap-around, no colour bars.
    tile_px: the side of each tile in px.
  Returns:
    the BGR uint8 image.
  """
  tiles, titles = [], []
  blank = np.full((tile_px, tile_px, 3), 255, np.uint8)
  width = max(len(row) for row in rows)
  for row in rows:
    line = []
    for cell in row + [None] * (width - len(row)):
      for q in range(len(QUANTITIES)):
        if cell is None:
          line.append(blank)
        elif wrap:
          line.append(visualize.wrapped_grey_tile(statistics[cell][step, q], tile_px))
        else:
          line.append(visualize.colour_tile(statistics[cell][step, q], tile_px, *value_scales[q]))
    tiles.append(line)
  for index in range(width):
    size = statistics[rows[0][index]].shape[-1] if index < len(rows[0]) else ''
    titles += [f'{size}x{size} {q}' for q in QUANTITIES]
  image = visualize.tile_grid(tiles, col_titles=titles, row_titles=row_titles)
  if wrap:
    legend = visualize.text_strip('grey = (v + 1) / 2 * 255 as uint8, wrapping (the original)',
                                  image.shape[1] // 2)
  else:
    legend = visualize.hstack([visualize.colour_bar(q, lo, hi)
                               for q, (lo, hi) in zip(QUANTITIES, value_scales)], gap=24)
  return visualize.vstack([image, legend], gap=8)
