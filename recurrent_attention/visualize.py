"""Figures of the Recurrent Attention Model (spec section 7), drawn with
``common.visualize``.

Locations are (row, col) in [-1, 1] (spec 2.1). A location maps to the
pixel-edge coordinate ``S * (l + 1) / 2`` of an ``S x S`` image: (-1, -1) is
the top-left corner of the image, (0, 0) its centre, (1, 1) the bottom-right
corner. The retina itself crops around ``floor`` of that value, so drawn
squares may sit up to one image pixel right of / below the real crop.
"""
import cv2
import numpy as np

from common import visualize

GREEN = (0, 200, 0)                    # BGR, gaze tracks
# BGR outline colour of glimpse scale k (0 = finest, side w * 2**k).
SCALE_COLOURS = [(0, 0, 255), (0, 200, 255), (255, 160, 0), (255, 0, 255), (0, 128, 255)]


def location_to_canvas(locations, image_size):
  """Glimpse centres in pixel-edge coordinates.

  Args:
    locations: [T, 2] (row, col) in [-1, 1].
    image_size: side S of the square image.

  Returns:
    [T, 2] float64 ``S * (l + 1) / 2``, (row, col) in [0, S].
  """
  l = np.asarray(locations, np.float64)
  if l.ndim != 2 or l.shape[1] != 2:
    raise ValueError('locations must be [T, 2] (row, col), got shape %s' % (l.shape,))
  return image_size * (l + 1.0) / 2.0


def _grey(x):
  """Float in [-1, 1] -> float in [0, 1] for display."""
  return np.clip((np.asarray(x, np.float64) + 1.0) / 2.0, 0.0, 1.0)


def _squares(canvas, centre, sides, colours, size, scale):
  """Outline the squares of the given ``sides`` (image px) centred on the
  pixel-edge point ``centre``, clipped to the ``size x size`` image."""
  for side, colour in zip(sides, colours):
    lo = np.clip(np.asarray(centre) - side / 2.0, 0, size)
    hi = np.clip(np.asarray(centre) + side / 2.0, 0, size)
    visualize.draw_rectangle(canvas, lo, hi, colour, 1, scale)
  return canvas


def track_panel(image, locations, scale, glimpse_size=None, num_scales=None):
  """The image in grey, upscaled, with the gaze track (left of the
  classification figure).

  Args:
    image: [S, S] float in [-1, 1].
    locations: [T, 2] (row, col) in [-1, 1], glimpse t's location.
    scale: integer upscale factor.
    glimpse_size: w; with ``num_scales`` (K) draws, faintly, the finest square
      (side w) and the coarsest field (side w * 2**(K-1)) at each centre.

  Returns:
    BGR uint8 [S*scale, S*scale, 3].
  """
  image = np.asarray(image, np.float64)
  size = image.shape[0]
  centres = location_to_canvas(locations, size)
  panel = visualize.upscale(_grey(image), scale)
  if glimpse_size:
    overlay = panel.copy()
    k = (num_scales or 1) - 1
    for c in centres:
      _squares(overlay, c, [glimpse_size * 2 ** k, glimpse_size],
               [SCALE_COLOURS[k % len(SCALE_COLOURS)], SCALE_COLOURS[0]], size, scale)
    panel = cv2.addWeighted(overlay, 0.45, panel, 0.55, 0)  # faint: behind the track
  visualize.draw_polyline(panel, centres, GREEN, 2, scale)
  visualize.draw_circle(panel, centres[0], max(3, scale), GREEN, -1, scale)
  return panel


def classification_figure(image, locations, glimpses, step_predictions, label, path,
                          scale=None, show_fields=True):
  """Spec section 7.1: the gaze on the image and what the retina saw.

  Args:
    image: [S, S] float in [-1, 1] (background -1).
    locations: [T, 2] (row, col) in [-1, 1], the location used for glimpse t.
    glimpses: [T, K, w, w] float in [-1, 1], retina output; index 0 along K
      is the coarsest scale (field w * 2**(K-1)).
    step_predictions: [T] int, argmax of the logits after glimpse t.
    label: int, the true class.
    path: PNG file to write.
    scale: upscale of the image (default ``max(1, 256 // S)``: 4 for 60x60).
    show_fields: outline, faintly, the finest square and coarsest field at
      every centre.

  Left: the image with the green track (dot on the first glimpse), titled
  "pred P / label L" with P the final prediction. Right: K rows (coarsest on
  top, labelled with the field side in image px) by T columns of glimpses,
  the prediction after each glimpse above its column.

  Returns:
    The BGR uint8 image written.
  """
  image = np.asarray(image, np.float64)
  glimpses = np.asarray(glimpses, np.float64)
  preds = np.asarray(step_predictions).reshape(-1)
  if image.ndim != 2 or image.shape[0] != image.shape[1]:
    raise ValueError('image must be square [S, S], got shape %s (%s)' % (image.shape, path))
  if glimpses.ndim != 4 or glimpses.shape[2] != glimpses.shape[3]:
    raise ValueError('glimpses must be [T, K, w, w], got shape %s (%s)' % (glimpses.shape, path))
  num_steps, num_scales, w = glimpses.shape[:3]
  if np.shape(locations) != (num_steps, 2) or len(preds) != num_steps:
    raise ValueError('need [T, 2] locations and [T] predictions for T = %d glimpses, got %s '
                     'and %s (%s)' % (num_steps, np.shape(locations), preds.shape, path))
  scale = scale or max(1, 256 // image.shape[0])
  panel = track_panel(image, locations, scale,
                      w if show_fields else None, num_scales)
  title = 'pred %d / label %d' % (int(preds[-1]), int(label))
  left = visualize.vstack([visualize.text_strip(title, panel.shape[1], visualize.TITLE_SCALE),
                           panel])
  gs = max(1, 64 // w)  # glimpse tiles of ~64 px
  tiles = [[visualize.upscale(_grey(glimpses[t, k]), gs) for t in range(num_steps)]
           for k in range(num_scales)]
  grid = visualize.tile_grid(tiles, col_titles=[int(p) for p in preds],
                             row_titles=['%d px' % (w * 2 ** (num_scales - 1 - k))
                                         for k in range(num_scales)])
  right = visualize.vstack([visualize.text_strip(
      'glimpses (coarsest on top), prediction after each', grid.shape[1]), grid])
  return visualize.save_png(path, visualize.hstack([left, right]))


def _check_episode(frames, locations, path):
  frames = np.asarray(frames, np.float64)
  if frames.ndim != 3 or frames.shape[1] != frames.shape[2] or not len(frames):
    raise ValueError('frames must be [T, G, G], got shape %s (%s)' % (frames.shape, path))
  if locations is not None and np.shape(locations) != (len(frames), 2):
    raise ValueError('locations must be [T, 2] for T = %d frames, got shape %s (%s)'
                     % (len(frames), np.shape(locations), path))
  return frames


def catch_animation(frames, locations, path, glimpse_size, num_scales, cell_px=10,
                    frame_ms=100, step=None, caught=None):
  """Spec section 7.2: one Catch episode as a looping GIF, with the gaze.

  Args:
    frames: [T, G, G] float in {0, 1}, the observations.
    locations: [T, 2] (row, col) in [-1, 1], the glimpse location used at each
      frame, or None for the raw frames only (like the original's movies).
    path: GIF file to write.
    glimpse_size: w, side of the finest glimpse square in board cells.
    num_scales: K; the squares have sides w * 2**k, k = 0..K-1, drawn as 1 px
      outlines (SCALE_COLOURS[k]) clipped to the board.
    cell_px: side of a board cell in px (10: 240x240 for G = 24).
    frame_ms: display time per frame (the original: 100 ms).
    step: training step of the policy, or None; with `caught` (bool, or None)
      it goes into a title line above every frame, with the frame counter:
      ``step 7000 | frame 3/23 | caught``.

  Returns:
    ``path``.
  """
  frames = _check_episode(frames, locations, path)
  size = frames.shape[1]
  images = [visualize.upscale(f, cell_px) for f in np.clip(frames, 0, 1)]
  if locations is not None:
    centres = location_to_canvas(locations, size)
    sides = [glimpse_size * 2 ** k for k in range(num_scales)]
    colours = [SCALE_COLOURS[k % len(SCALE_COLOURS)] for k in range(num_scales)]
    for img, c in zip(images, centres):
      _squares(img, c, sides[::-1], colours[::-1], size, cell_px)  # finest on top
  titles = [frame_title(t, len(images), step, caught) for t in range(len(images))]
  # One width for every frame (the longest title may be wider than the board).
  width = max([images[0].shape[1]] + [visualize.text_strip(t, 0, visualize.TICK_SCALE).shape[1]
                                      for t in titles])
  images = [visualize.vstack([visualize.text_strip(title, width, visualize.TICK_SCALE), img],
                             gap=0) for title, img in zip(titles, images)]
  return visualize.animation(images, path, frame_ms=frame_ms)


def frame_title(index, count, step=None, caught=None):
  """The title line of Catch frame `index` (0-based) of `count`."""
  parts = [] if step is None else ['step %d' % step]
  parts.append('frame %d/%d' % (index + 1, count))
  if caught is not None:
    parts.append('caught' if caught else 'missed')
  return ' | '.join(parts)


def gaze_track_image(frames, locations, path, cell_px=16):
  """Spec section 7.3: a Catch episode's gaze track on its faded frames.

  The background is ``clip(sum_t w_t * frames[t], 0, 1)`` with w_t = (t+1)/T,
  i.e. linear recency weights normalised to a maximum of 1: a cell is as
  bright as the latest frame showing it (more if shown repeatedly), so the
  ball and paddle trails brighten toward the end. A green polyline joins the
  glimpse centres, with a hollow circle on the first and a dot on the last.

  Args:
    frames: [T, G, G] float in {0, 1}, the observations.
    locations: [T, 2] (row, col) in [-1, 1], glimpse location at frame t.
    path: PNG file to write.
    cell_px: side of a board cell in px.

  Returns:
    The BGR uint8 image written, [G*cell_px, G*cell_px, 3] with no margin.
  """
  frames = _check_episode(frames, locations, path)
  num_steps, size = frames.shape[:2]
  weights = np.arange(1, num_steps + 1) / num_steps
  background = np.clip(np.tensordot(weights, frames, axes=1), 0.0, 1.0)
  img = visualize.upscale(background, cell_px)
  centres = location_to_canvas(locations, size)
  visualize.draw_polyline(img, centres, GREEN, 2, cell_px)
  visualize.draw_circle(img, centres[0], max(4, cell_px * 0.6), GREEN, 2, cell_px)
  visualize.draw_circle(img, centres[-1], max(3, cell_px * 0.4), GREEN, -1, cell_px)
  return visualize.save_png(path, img, border=0)
