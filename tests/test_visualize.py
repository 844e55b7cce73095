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


# --- layout details: white border, cell sizes, ticks, clipping, error messages

def test_step_dir_is_idempotent_and_nested(tmp_path):
  root = str(tmp_path / 'ckpt' / 'run')
  first = visualize.step_dir(root, 200)
  assert first == os.path.join(root, '00000200') and os.path.isdir(first)
  assert visualize.step_dir(root, 200) == first


def test_heatmap_layout_white_border_and_automatic_cell_size(tmp_path):
  image = visualize.heatmap(np.array([[0.0, 1.0], [1.0, 0.0]]), str(tmp_path / 'h.png'))
  assert 300 <= max(image.shape[:2]) <= 1200
  assert (image[0] == 255).all() and (image[:, 0] == 255).all() and (image[-1] == 255).all()
  low = _find_colour(image, _colormap_colour(0))
  top, left = low.min(axis=0)
  cell = np.argmax(np.any(image[top + 2, left:] != _colormap_colour(0), axis=-1))
  assert cell >= 2
  centre = (top + cell // 2, left + cell // 2)
  assert (image[centre[0], centre[1] + cell] == _colormap_colour(255)).all()   # (0, 1)
  assert (image[centre[0] + cell, centre[1]] == _colormap_colour(255)).all()   # (1, 0)
  assert (image[centre[0] + cell, centre[1] + cell] == _colormap_colour(0)).all()  # (1, 1)


def test_heatmap_cell_px_override_and_long_arrays(tmp_path):
  values = np.random.RandomState(1).rand(40, 20)
  auto = visualize.heatmap(values, str(tmp_path / 'a.png'))
  assert 300 <= max(auto.shape[:2]) <= 1000
  big = visualize.heatmap(values, str(tmp_path / 'b.png'), cell_px=(30, 10))
  assert big.shape[0] > 40 * 30 and big.shape[1] > 20 * 10
  long = visualize.heatmap(np.random.RandomState(2).rand(1000, 8), str(tmp_path / 'l.png'))
  assert long.shape[0] >= 2 * 1000 and long.shape[1] >= 120   # >= 2 px per cell


def test_heatmap_clips_to_vmin_vmax_and_custom_ticks(tmp_path):
  image = visualize.heatmap(np.array([[-5.0, 5.0]]), str(tmp_path / 'c.png'), vmin=0, vmax=1,
                            row_ticks=['write'], col_ticks=['slot a', 'slot b'],
                            colormap=cv2.COLORMAP_JET)
  jet = lambda level: cv2.applyColorMap(np.array([[level]], np.uint8), cv2.COLORMAP_JET)[0, 0]
  assert len(_find_colour(image, jet(0))) > 100 and len(_find_colour(image, jet(255))) > 100
  with pytest.raises(ValueError, match='tick'):
    visualize.heatmap(np.zeros((2, 2)), str(tmp_path / 'x.png'), row_ticks=['only one'])


def test_errors_name_the_path_and_shape(tmp_path):
  path = str(tmp_path / 'bad_plot.png')
  with pytest.raises(ValueError, match='bad_plot.png'):
    visualize.heatmap(np.array([[0.0, np.nan]]), path)
  with pytest.raises(ValueError, match=r'\(2, 3, 4\)'):
    visualize.heatmap(np.zeros((2, 3, 4)), path)
  with pytest.raises(ValueError, match='bad_plot.png'):
    visualize.heatmap_grid([(np.zeros((2, 2)), 'a'), (np.full((2, 2), np.inf), 'b')], path)
  assert not os.path.exists(path)


def test_image_grid_exact_size_and_pixels(tmp_path):
  rng = np.random.RandomState(3)
  images = [rng.rand(28, 28) for _ in range(3)]                                 # grey float
  images += [(rng.rand(28, 28) * 255).astype(np.uint8) for _ in range(2)]      # grey uint8
  images += [(rng.rand(28, 28, 3) * 255).astype(np.uint8)]                     # BGR uint8
  image = visualize.image_grid(images, str(tmp_path / 'g.png'))  # default: 3 columns, x4
  tile, pad = 28 * 4, visualize.PAD
  assert image.shape == (2 * tile + 3 * pad, 3 * tile + 4 * pad, 3)
  expected = np.round(images[0] * 255).astype(np.uint8)
  assert (image[pad:pad + tile:4, pad:pad + tile:4, 1] == expected).all()
  colour = image[2 * pad + tile:2 * pad + 2 * tile:4, 3 * pad + 2 * tile:3 * pad + 3 * tile:4]
  assert (colour == images[5]).all()
  titled = visualize.image_grid(images, str(tmp_path / 't.png'), titles=range(6))
  assert titled.shape[1] == image.shape[1] and titled.shape[0] > image.shape[0]


# --- animation (GIF via Pillow) and drawing helpers

def _gif_frames(path):
  from PIL import Image
  with Image.open(path) as im:
    frames, durations = [], []
    for i in range(im.n_frames):
      im.seek(i)
      durations.append(im.info.get('duration'))
      frames.append(np.array(im.convert('RGB')))
    return im.n_frames, im.size, im.info.get('loop'), durations, frames


def test_animation_keeps_every_frame_and_exact_colours(tmp_path):
  red, white = np.zeros((20, 30, 3), np.uint8), np.full((20, 30, 3), 255, np.uint8)
  red[..., 2] = 255                                                 # BGR red
  frames = [red, red, white, white, white, red]                     # repeats in a row
  path = visualize.animation(frames, str(tmp_path / 'sub' / 'a.gif'))
  assert path == str(tmp_path / 'sub' / 'a.gif')
  n, size, loop, durations, decoded = _gif_frames(path)
  assert n == 6 and size == (30, 20) and loop == 0 and durations == [100] * 6
  for got, want in zip(decoded, frames):
    assert (got == want[..., ::-1]).all()                           # RGB, exact palette


def test_animation_grey_many_colours_loop_and_timing(tmp_path):
  grey = [np.linspace(0, 1, 64 * 64).reshape(64, 64) * (t + 1) / 3 for t in range(3)]
  n, size, loop, durations, decoded = _gif_frames(
      visualize.animation(np.stack(grey), str(tmp_path / 'g.gif'), frame_ms=50, loop=2))
  assert n == 3 and size == (64, 64) and loop == 2 and durations == [50] * 3
  assert np.abs(decoded[2][..., 0].astype(int) - np.round(grey[2] * 255)).max() <= 8
  rng = np.random.RandomState(0)
  noise = [(rng.rand(16, 16, 3) * 255).astype(np.uint8) for _ in range(3)]
  n, _, loop, _, _ = _gif_frames(visualize.animation(noise + noise[-1:], str(tmp_path / 'n.gif'),
                                                     loop=None))
  assert n == 4 and loop is None                                    # quantised, played once


def test_animation_bad_input(tmp_path):
  with pytest.raises(ValueError, match='at least one frame'):
    visualize.animation([], str(tmp_path / 'e.gif'))
  with pytest.raises(ValueError, match=r'frame 1 has size 8x9 but frame 0 has 8x8'):
    visualize.animation([np.zeros((8, 8)), np.zeros((8, 9))], str(tmp_path / 'm.gif'))
  with pytest.raises(ValueError, match='frame_ms'):
    visualize.animation([np.zeros((8, 8))], str(tmp_path / 'd.gif'), frame_ms=0)
  assert not os.listdir(tmp_path)


def test_upscale_and_edge_coordinates(tmp_path):
  big = visualize.upscale(np.array([[0.0, 1.0]]), 3)
  assert big.shape == (3, 6, 3) and (big[:, :3] == 0).all() and (big[:, 3:] == 255).all()
  canvas = np.zeros((40, 40, 3), np.uint8)
  # Edge point (2, 2) of a 4x4 grid shown at x10 is the canvas centre (20, 20).
  visualize.draw_polyline(canvas, [(0, 2), (4, 2)], (0, 255, 0), 2, scale=10)
  ink = canvas[20, :, 1].astype(float)
  assert set(np.flatnonzero(ink > 200)) == {19, 20}                 # straddles the edge
  assert abs((ink * np.arange(40)).sum() / ink.sum() - 19.5) < 0.1  # pixel centres at x.0
  box = visualize.draw_rectangle(np.zeros((40, 40, 3), np.uint8), (0, 0), (4, 2), (0, 0, 255),
                                 scale=10)
  assert (box[:, 0, 2] == 255).all() and (box[:, 19, 2] == 255).all() and box[:, 20].max() == 0


