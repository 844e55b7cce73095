"""recurrent_attention.visualize: classification figure, Catch GIF and gaze track."""
import os

import cv2
import numpy as np
import pytest
from PIL import Image

from recurrent_attention import visualize as rv


def _is_green(pixel):
  b, g, r = (int(v) for v in pixel)
  return g > 120 and g > 2 * max(b, r)


def _block(image, grey):
  """(top, left, height, width) of the largest region of colour (grey)*3."""
  mask = np.all(image == grey, axis=-1).astype(np.uint8)
  _, _, stats, _ = cv2.connectedComponentsWithStats(mask)
  x, y, w, h, _ = stats[1 + np.argmax(stats[1:, cv2.CC_STAT_AREA])]
  return y, x, h, w


def test_location_to_canvas_uses_pixel_edges():
  got = rv.location_to_canvas([(0, 0), (-1, -1), (1, 1), (-1, 1), (0.5, -0.5)], 28)
  np.testing.assert_allclose(got, [(14, 14), (0, 0), (28, 28), (0, 28), (21, 7)])
  with pytest.raises(ValueError, match=r'\[T, 2\]'):
    rv.location_to_canvas(np.zeros((3, 3)), 28)


def test_classification_figure_track_and_glimpse_grid(tmp_path):
  image = np.full((28, 28), 0.2)                                   # grey 153
  locations = np.array([(-1.0, -1.0), (0.0, 0.0)])
  levels = np.array([[-0.9, -0.6, -0.3], [0.4, 0.6, 0.8]])         # [T, K] distinct greys
  glimpses = np.broadcast_to(levels[:, :, None, None], (2, 3, 8, 8))
  path = str(tmp_path / 'sub' / 'cls.png')
  fig = rv.classification_figure(image, locations, glimpses, [3, 7], 7, path, scale=8,
                                 show_fields=False)
  assert (cv2.imread(path) == fig).all()
  top, left, h, w = _block(fig, 153)
  assert (h, w) == (224, 224)
  panel = fig[top:top + 224, left:left + 224]
  assert (panel == rv.track_panel(image, locations, 8)).all()
  # l = (0, 0) is the centre edge 14 * 8 = 112 px; l = (-1, -1) the corner.
  assert _is_green(panel[111, 111]) and _is_green(panel[112, 112])
  assert _is_green(panel[0, 0]) and _is_green(panel[56, 56])       # first dot, the line
  assert (panel[56, 168] == 153).all() and (panel[200, 30] == 153).all()
  # Glimpse tiles (64 px): coarsest (k = 0) on top, time left to right, right of the image.
  centres = {}
  for t in range(2):
    for k in range(3):
      grey = int(np.round((levels[t, k] + 1) / 2 * 255))
      y, x, bh, bw = _block(fig, grey)
      assert (bh, bw) == (64, 64)
      centres[t, k] = (y, x)
  assert all(centres[t, 0][0] < centres[t, 1][0] < centres[t, 2][0] for t in range(2))
  assert all(centres[0, k][1] < centres[1, k][1] for k in range(3))
  assert centres[0, 0][1] > left + 224 and centres[0, 0][0] == centres[1, 0][0]


def test_classification_figure_defaults_fields_and_errors(tmp_path):
  rng = np.random.RandomState(0)
  image = -np.ones((60, 60))
  glimpses = rng.rand(8, 3, 12, 12) * 2 - 1
  locations = rng.uniform(-0.5, 0.5, (8, 2))
  fig = rv.classification_figure(image, locations, glimpses, [1, 1, 3, 8, 8, 8, 8, 8], 8,
                                 str(tmp_path / 'c.png'))
  assert 240 + 40 <= fig.shape[0] <= 600 and 240 + 8 * 60 <= fig.shape[1] <= 1400
  panel = rv.track_panel(image, locations, 4, glimpse_size=12, num_scales=3)  # default x4
  match = cv2.matchTemplate(fig, panel, cv2.TM_SQDIFF)
  assert panel.shape == (240, 240, 3) and match.min() == 0         # embedded as is
  # Faint outlines of the finest square (red) and coarsest field (blue).
  panel = panel.astype(int)
  assert ((panel[..., 2] > 60) & (panel[..., 1] < 30) & (panel[..., 0] < 30)).sum() > 50
  assert ((panel[..., 0] > 60) & (panel[..., 2] < 30)).sum() > 50
  with pytest.raises(ValueError, match='T = 8'):
    rv.classification_figure(image, locations[:5], glimpses, [0] * 8, 1, str(tmp_path / 'x.png'))
  with pytest.raises(ValueError, match=r'\[T, K, w, w\]'):
    rv.classification_figure(image, locations, glimpses[:, 0], [0] * 8, 1,
                             str(tmp_path / 'x.png'))
  assert not os.path.exists(tmp_path / 'x.png')


def _catch_frames(num_steps, size=24):
  frames = np.zeros((num_steps, size, size))
  for t in range(num_steps):
    frames[t, t, 3] = 1                                             # ball falls in column 3
    frames[t, size - 1, 10:12] = 1                                  # paddle
  return frames


def test_catch_animation_gif(tmp_path):
  locations = np.array([(0.0, 0.0)] * 4 + [(-1.0, -1.0)])
  path = rv.catch_animation(_catch_frames(5), locations, str(tmp_path / 'm' / 'movie.gif'),
                            glimpse_size=6, num_scales=3)
  with Image.open(path) as gif:
    # The 240 x 240 board under a title line (frame counter).
    assert gif.n_frames == 5 and gif.size[0] == 240 and gif.size[1] > 250
    assert gif.info['loop'] == 0 and gif.info['duration'] == 100
    first = np.array(gif.convert('RGB'))[-240:]
    gif.seek(4)
    last = np.array(gif.convert('RGB'))[-240:]
  red, blue = (255, 0, 0), rv.SCALE_COLOURS[2][::-1]                 # RGB
  # l = (0, 0): finest square (6 cells) spans cells 9..15 = px 90..149.
  assert tuple(first[90, 120]) == red and tuple(first[149, 120]) == red
  assert tuple(first[120, 90]) == red and tuple(first[120, 149]) == red
  assert tuple(first[0, 120]) == blue and tuple(first[239, 120]) == blue  # 24 cells: the board
  assert (first[1:10, 30:40] == 255).all()                          # ball cell (0, 3), white
  assert (first[235, 100:120] == 255).all()                         # paddle
  # l = (-1, -1): squares clipped to the board corner, finest 3 cells = px 0..29.
  assert tuple(last[29, 15]) == red and tuple(last[15, 29]) == red
  assert tuple(last[119, 60]) == blue and tuple(last[200, 200]) == (0, 0, 0)
  plain = rv.catch_animation(_catch_frames(3), None, str(tmp_path / 'plain.gif'), 6, 3)
  with Image.open(plain) as gif:
    assert gif.n_frames == 3
    assert set(np.unique(np.array(gif.convert('RGB'))[-240:])) <= {0, 255}


def test_gaze_track_image_recency_and_track(tmp_path):
  num_steps, size, cell = 4, 8, 16
  frames = np.zeros((num_steps, size, size))
  for t in range(num_steps):
    frames[t, t, size - 1 - t] = 1                                  # ball on the anti-diagonal
  frames[:, size - 1, 0] = 1                                        # shown in every frame
  locations = np.array([(-1.0, -1.0), (-0.5, -0.5), (-0.25, -0.25), (0.0, 0.0)])
  path = str(tmp_path / 'track.png')
  img = rv.gaze_track_image(frames, locations, path, cell_px=cell)
  assert img.shape == (128, 128, 3) and (cv2.imread(path) == img).all()
  ball = [int(img[t * cell + 8, (size - 1 - t) * cell + 8, 0]) for t in range(num_steps)]
  assert ball == [64, 128, 191, 255]                                # weights (t + 1) / T
  assert (img[size * cell - 8, 8] == 255).all()                     # sum clipped at 1
  assert _is_green(img[63, 63]) and _is_green(img[64, 64])         # last: centre edge 64
  assert _is_green(img[67, 64])                                     # ... a filled dot
  assert _is_green(img[32, 32])                                     # on the line
  assert _is_green(img[9, 0]) and not _is_green(img[4, 0])         # hollow circle at corner
  with pytest.raises(ValueError, match=r'\[T, 2\]'):
    rv.gaze_track_image(frames, locations[:2], str(tmp_path / 'x.png'))
