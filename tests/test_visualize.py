"""common.visualize: step folders, labelled heatmaps, grids."""
import os

import cv2
import numpy as np
import pytest

from common import visualize


def test_step_dir_names_sort_by_step(tmp_path):
  paths = [visualize.step_dir(str(tmp_path), s) for s in (1000, 20, 300)]
  assert [os.path.basename(p) for p in paths] == ['00001000', '00000020', '00000300']
  assert sorted(os.listdir(tmp_path)) == ['00000020', '00000300', '00001000']
  assert os.path.basename(visualize.step_dir(str(tmp_path), 5, prefix='test_')) == 'test_00000005'


def _colormap_colour(level):
  return cv2.applyColorMap(np.array([[level]], np.uint8), cv2.COLORMAP_VIRIDIS)[0, 0]


def _find_colour(image, colour):
  return np.argwhere(np.all(image == colour, axis=-1))


def test_heatmap_maps_values_to_colormap_and_writes_png(tmp_path):
  path = str(tmp_path / 'sub' / 'h.png')
  image = visualize.heatmap(np.array([[0.0, 1.0], [1.0, 0.0]]), path, title='t',
                            row_label='time step', col_label='slot', cell_px=40)
  on_disk = cv2.imread(path)
  assert on_disk is not None and on_disk.shape == image.shape
  low, high = _find_colour(image, _colormap_colour(0)), _find_colour(image, _colormap_colour(255))
  assert len(low) >= 2 * 40 * 40 and len(high) >= 2 * 40 * 40   # both cells of each value
  # The low cell (0, 0) is left of the high cell (0, 1) on the same rows.
  top_row = low[:, 0].min()
  assert low[low[:, 0] == top_row][:, 1].min() < high[high[:, 0] == top_row][:, 1].min()
  assert (image == 0).any()  # some black text (labels, ticks, legend)


def test_vmin_vmax_and_constant_arrays(tmp_path):
  image = visualize.heatmap(np.full((3, 3), 0.5), str(tmp_path / 'c.png'), vmin=0, vmax=1,
                            cell_px=10)
  assert len(_find_colour(image, _colormap_colour(128))) >= 9 * 100
  constant = visualize.heatmap(np.full((3, 3), 7.0), str(tmp_path / 'k.png'), cell_px=10)
  assert len(_find_colour(constant, _colormap_colour(0))) >= 9 * 100


@pytest.mark.parametrize('values', [np.array([[np.nan, 1.0]]), np.array([[np.inf]])])
def test_non_finite_values_raise(values, tmp_path):
  with pytest.raises(ValueError, match='NaN'):
    visualize.heatmap(values, str(tmp_path / 'x.png'))


def test_non_2d_values_raise(tmp_path):
  with pytest.raises(ValueError, match='2-D'):
    visualize.heatmap(np.zeros(5), str(tmp_path / 'x.png'))


def test_heatmap_grid_is_wider_than_one_panel(tmp_path):
  values = np.random.RandomState(0).rand(10, 16)
  one = visualize.heatmap(values, str(tmp_path / 'one.png'))
  four = visualize.heatmap_grid([(values, f'read head {i}') for i in range(4)],
                                str(tmp_path / 'four.png'), title='read weights')
  assert four.shape[1] > one.shape[1]


def test_image_grid_tiles_images(tmp_path):
  digits = [np.random.RandomState(i).rand(28, 28) for i in range(6)]
  image = visualize.image_grid(digits, str(tmp_path / 'g.png'), titles=list('abcdef'), ncols=3,
                               scale=2)
  assert image.shape[1] >= 3 * 56 and image.shape[0] >= 2 * 56
  assert os.path.exists(tmp_path / 'g.png')
  with pytest.raises(ValueError):
    visualize.image_grid(digits, str(tmp_path / 'bad.png'), titles=['only one'])
