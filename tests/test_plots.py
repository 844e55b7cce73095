"""common/plots.py: matplotlib figures are written, show their data, and bad input is refused."""
import os

import numpy as np
import pytest

from common import plots
from common.logs import OutputError

BLUE = np.array([31, 119, 180])    # matplotlib's first two default colours (RGB)
ORANGE = np.array([255, 127, 14])


def pixels_of(image, colour, tolerance=30):
  return int(np.sum(np.all(np.abs(image.astype(int) - colour) < tolerance, axis=-1)))


def test_line_plot_draws_each_curve_and_writes_a_png(tmp_path):
  x = np.arange(10)
  image = plots.line_plot({'a': (x, x ** 2 + 1), 'b': (x, np.full(10, 5.0))},
                          str(tmp_path / 'sub' / 'p.png'), title='t', x_label='step',
                          y_label='loss', log_y=True, vlines=((3, 'a line'),))
  assert os.path.getsize(tmp_path / 'sub' / 'p.png') > 1000
  assert image.ndim == 3 and image.dtype == np.uint8
  assert pixels_of(image, BLUE) > 50 and pixels_of(image, ORANGE) > 50
  only_a = plots.line_plot({'a': (x, x ** 2 + 1)}, str(tmp_path / 'a.png'))
  assert pixels_of(only_a, ORANGE) < 5


def test_legend_places_differ_and_bad_ones_are_refused(tmp_path):
  curves = {'rising': ([0, 1, 2], [0.0, 5.0, 10.0])}
  upper = plots.line_plot(curves, str(tmp_path / 'a.png'))
  lower = plots.line_plot(curves, str(tmp_path / 'b.png'), legend='lower right')
  assert not np.array_equal(upper, lower)
  with pytest.raises(ValueError, match='legend'):
    plots.line_plot(curves, str(tmp_path / 'c.png'), legend='middle')


@pytest.mark.parametrize('curves', [{}, {'bad': ([1, 2], [1])}, {'nan_x': ([np.nan], [1])}])
def test_bad_curves_are_refused(tmp_path, curves):
  with pytest.raises(ValueError):
    plots.line_plot(curves, str(tmp_path / 'q.png'))
  assert not os.listdir(tmp_path)


def test_errorbar_scatter_and_matrix_plots(tmp_path):
  mean, error = np.linspace(0.4, 1.0, 10), np.full(10, 0.05)
  bars = plots.errorbar_plot({'first': (mean, error), 'repeated': (mean[::-1], error)},
                             str(tmp_path / 'e.png'), vlines=((5, 'noise off'),))
  assert pixels_of(bars, BLUE) > 50 and pixels_of(bars, ORANGE) > 50
  with pytest.raises(ValueError, match='equal shapes'):
    plots.errorbar_plot({'x': (mean, error[:3])}, str(tmp_path / 'bad.png'))
  points = plots.scatter_plot({'left': ([0, 1], [1, 0]), 'right': ([2, 3], [3, 2])},
                              str(tmp_path / 's.png'))
  assert pixels_of(points, BLUE) > 20 and pixels_of(points, ORANGE) > 20
  matrix = plots.matrix_plot([(np.arange(12.0).reshape(3, 4), 'a'), (-np.eye(3), 'b')],
                             str(tmp_path / 'm.png'), center=0.0, vlines=((2, 'grey'),))
  single = plots.matrix_plot([(np.eye(3), 'a')], str(tmp_path / 'one.png'))
  assert matrix.shape[1] > 1.6 * single.shape[1]   # two panels side by side, each with a bar
  with pytest.raises(ValueError, match='finite 2-D'):
    plots.matrix_plot([(np.array([np.inf]), 'x')], str(tmp_path / 'inf.png'))


def test_unwritable_path_raises_output_error(tmp_path):
  blocker = tmp_path / 'file'
  blocker.write_text('x')
  with pytest.raises(OutputError, match='file'):
    plots.line_plot({'a': ([0, 1], [0, 1])}, str(blocker / 'p.png'))
