"""Plots (curves, error bars, scatter, matrices with a colour bar) with matplotlib.

One plotting path for every subproject: learning curves, accuracy with error
bars, scatter plots and similarity matrices are drawn here with matplotlib's
object API on the Agg backend (no display, no global pyplot state), the library
the originals and their users use. Per-step image frames (memory heatmaps,
glimpses, game frames, animations) stay with OpenCV in `common/visualize.py`.

Every function takes numpy arrays, writes one PNG (parent folders are created),
and returns the image as an RGB `uint8` array `[height, width, 3]`. Bad data
(mismatched or non-finite curves) raises ValueError; a file that cannot be
written raises `common.logs.OutputError` naming the path.
"""
import os

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from common.logs import writing

DPI = 100
LEGEND_PLACES = ('upper left', 'lower right', 'center right', 'outside')


def new_figure(width_in, height_in, ncols=1, nrows=1, **subplot_kw):
  """A Figure with its Agg canvas and a flat list of axes."""
  figure = Figure(figsize=(width_in, height_in), dpi=DPI)
  FigureCanvasAgg(figure)
  axes = figure.subplots(nrows, ncols, squeeze=False, subplot_kw=subplot_kw or None)
  return figure, list(axes.ravel())


def save(figure, path):
  """Writes the figure as PNG and returns its pixels (RGB uint8)."""
  with writing('a figure', path):
    directory = os.path.dirname(path)
    if directory:
      os.makedirs(directory, exist_ok=True)
    figure.savefig(path, dpi=DPI, bbox_inches='tight', facecolor='white')
  figure.canvas.draw()
  return np.asarray(figure.canvas.buffer_rgba())[..., :3].copy()


def _legend(axes, place):
  if place not in LEGEND_PLACES:
    raise ValueError(f"legend must be one of {', '.join(map(repr, LEGEND_PLACES))}, got {place!r}")
  if place == 'outside':
    axes.legend(loc='center left', bbox_to_anchor=(1.02, 0.5), frameon=False)
  else:
    axes.legend(loc=place, frameon=False)


def _curve(label, x, y, path):
  x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
  if x.shape != y.shape or x.ndim != 1 or not x.size or not np.isfinite(x).all():
    raise ValueError(f'curve {label!r} for {path}: x and y must be equal-length finite 1-D')
  return x, y


def line_plot(curves, path, title='', x_label='', y_label='', log_y=False, size=(640, 400),
              legend='upper left', vlines=()):
  """Curves on shared axes (learning curves).

  Args:
    curves: dict `label -> (x, y)`, each 1-D of equal length (NaN y values are gaps).
    log_y: a log y axis (non-positive values are not drawn).
    size: `(width, height)` of the figure in px.
    legend: one of LEGEND_PLACES.
    vlines: `(x, label)` dashed vertical lines.
  """
  if not curves:
    raise ValueError(f'line_plot needs at least one curve ({path})')
  data = {label: _curve(label, *xy, path) for label, xy in curves.items()}
  figure, (axes,) = new_figure(size[0] / DPI, size[1] / DPI)
  for label, (x, y) in data.items():
    if log_y:
      y = np.where(y > 0, y, np.nan)
    axes.plot(x, y, label=label, linewidth=1.8)
  for x, label in vlines:
    axes.axvline(x, color='grey', linestyle='--', label=label)
  if log_y:
    axes.set_yscale('log')
  axes.set(title=title, xlabel=x_label, ylabel=y_label)
  axes.grid(alpha=0.3)
  _legend(axes, legend)
  return save(figure, path)


def errorbar_plot(series, path, x=None, title='', x_label='', y_label='', size=(700, 400),
                  legend='outside', vlines=(), ylim=None):
  """Means with +- error bars (e.g. accuracy by time with 2 SEM).

  Args:
    series: dict `label -> (mean [n], error [n])`, the bar half-widths.
    x: `[n]` positions (default 0..n-1).
    vlines: `(x, label)` dashed vertical lines; ylim: `(low, high)` or None.
  """
  figure, (axes,) = new_figure(size[0] / DPI, size[1] / DPI)
  for label, (mean, error) in series.items():
    mean, error = np.asarray(mean, np.float64), np.asarray(error, np.float64)
    positions = np.arange(len(mean)) if x is None else np.asarray(x, np.float64)
    if mean.shape != error.shape or mean.shape != positions.shape:
      raise ValueError(f'series {label!r} for {path}: mean, error and x must have equal shapes')
    axes.errorbar(positions, mean, yerr=error, label=label, capsize=3, linewidth=1.8)
  for position, label in vlines:
    axes.axvline(position, color='grey', linestyle='--', label=label)
  if ylim is not None:
    axes.set_ylim(*ylim)
  axes.set(title=title, xlabel=x_label, ylabel=y_label)
  _legend(axes, legend)
  return save(figure, path)


def scatter_plot(groups, path, title='', x_label='', y_label='', size=(700, 500),
                 legend='upper left'):
  """Points coloured by group: dict `label -> (x [n], y [n])`."""
  figure, (axes,) = new_figure(size[0] / DPI, size[1] / DPI)
  for label, xy in groups.items():
    x, y = _curve(label, *xy, path) if len(xy[0]) else (np.zeros(0), np.zeros(0))
    axes.scatter(x, y, label=label, s=28, alpha=0.85)
  axes.set(title=title, xlabel=x_label, ylabel=y_label)
  for side in ('top', 'right'):
    axes.spines[side].set_visible(False)
  _legend(axes, legend)
  return save(figure, path)


def matrix_plot(panels, path, title='', row_label='', col_label='', cmap='viridis',
                size_per_panel=(520, 450), center=None, colorbar_label='', vlines=(), hlines=(),
                shared_scale=False):
  """Matrices side by side, each with a colour bar (similarity matrices, stimuli).

  Args:
    panels: list of `(matrix [rows, cols], subtitle)`; row 0 at the top.
    center: a value the colour map is centred on (e.g. 0 for a diverging map).
    vlines, hlines: `(position, colour)` dashed lines in cell coordinates (a line
      at x = 5 runs between columns 4 and 5).
    shared_scale: one colour range for every panel.
  """
  if not panels:
    raise ValueError(f'matrix_plot needs at least one panel ({path})')
  matrices = [np.asarray(m, np.float64) for m, _ in panels]
  for matrix in matrices:
    if matrix.ndim != 2 or not np.isfinite(matrix).all():
      raise ValueError(f'matrix_plot for {path}: panels must be finite 2-D arrays')
  figure, axes_list = new_figure(size_per_panel[0] * len(panels) / DPI, size_per_panel[1] / DPI,
                                 ncols=len(panels))
  low = min(m.min() for m in matrices) if shared_scale else None
  high = max(m.max() for m in matrices) if shared_scale else None
  for axes, matrix, (_, subtitle) in zip(axes_list, matrices, panels):
    vmin, vmax = (low, high) if shared_scale else (matrix.min(), matrix.max())
    if center is not None:
      reach = max(abs(vmax - center), abs(center - vmin)) or 1.0
      vmin, vmax = center - reach, center + reach
    image = axes.imshow(matrix, cmap=cmap, vmin=vmin, vmax=vmax, aspect='auto',
                        interpolation='nearest')
    colorbar = figure.colorbar(image, ax=axes)
    if colorbar_label:
      colorbar.set_label(colorbar_label)
    for position, colour in vlines:
      axes.axvline(position - 0.5, color=colour, linestyle='--')
    for position, colour in hlines:
      axes.axhline(position - 0.5, color=colour, linestyle='--')
    axes.set(title=subtitle, xlabel=col_label, ylabel=row_label)
  if title:
    figure.suptitle(title)
  return save(figure, path)
