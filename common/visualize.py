"""PNG visualisation writer shared by the subprojects (replaces the visdom plots).

Everything takes numpy arrays and writes PNG files with ``cv2.imwrite``
(parent directories are created) and returns the BGR ``uint8`` image.
Periodic plots go into ``step_dir(CHECKPOINT_DIR, step)``, i.e.
``CHECKPOINT_DIR/00000200/``, so directories sort by training step.

Conventions for heatmaps: a 2-D array ``[rows, cols]`` is drawn with the
first axis (rows, e.g. time step) from top to bottom and the second axis
(cols, e.g. memory slot) from left to right, as in ``matplotlib.imshow``.
Values are mapped linearly from ``[vmin, vmax]`` (default: data min/max,
values outside are clipped, a constant array maps to the lowest colour) onto
an OpenCV colour map; each cell becomes a nearest-neighbour block. Text is
black ``FONT_HERSHEY_SIMPLEX`` on white. Non-finite values raise ValueError.
A file or folder that cannot be written raises ``common.logs.OutputError``
(one line, naming the path).
"""
import math
import os

import cv2
import numpy as np

from common.logs import OutputError, writing

FONT = cv2.FONT_HERSHEY_SIMPLEX
TICK_SCALE, LABEL_SCALE, TITLE_SCALE = 0.4, 0.5, 0.6
BLACK, WHITE = (0, 0, 0), (255, 255, 255)
PAD, GAP, TICK_LEN, BAR_W = 10, 16, 4, 18
TARGET_PX, MIN_SHORT_PX, MIN_CELL_PX = 480, 120, 2


def step_dir(root_dir, step, prefix=''):
  """Create and return ``root_dir/<prefix><step:08d>`` (e.g. ``ckpt/00000200``)."""
  path = os.path.join(root_dir, '%s%08d' % (prefix, int(step)))
  with writing('the visualisation folder', path):
    os.makedirs(path, exist_ok=True)
  return path


# ----------------------------------------------------------------- text utils
def _text_size(text, scale):
  """(width, height) of the text box in px, descenders included."""
  (w, h), base = cv2.getTextSize(text, FONT, scale, 1)
  return w, h + base


def _put(img, text, x, yc, scale, align='left'):
  """Draw ``text`` with its box vertically centred on ``yc``; ``x`` is the
  left edge, centre or right edge according to ``align``."""
  if not text:
    return
  w, h = _text_size(text, scale)
  x = {'left': x, 'center': x - w // 2, 'right': x - w}[align]
  (_, above), _ = cv2.getTextSize(text, FONT, scale, 1)
  cv2.putText(img, text, (int(x), int(yc - h / 2 + above)), FONT, scale,
              BLACK, 1, cv2.LINE_AA)


def _canvas(h, w):
  return np.full((h, w, 3), 255, np.uint8)


def _vertical_text(text, scale):
  """Text rotated 90 degrees counter-clockwise (reads bottom to top)."""
  w, h = _text_size(text, scale)
  img = _canvas(h + 4, w + 4)
  _put(img, text, 2, (h + 4) / 2, scale)
  return np.ascontiguousarray(np.rot90(img))


def _hcat(images, gap):
  """Place images side by side, top aligned, on white."""
  h = max(im.shape[0] for im in images)
  out = _canvas(h, sum(im.shape[1] for im in images) + gap * (len(images) - 1))
  x = 0
  for im in images:
    out[:im.shape[0], x:x + im.shape[1]] = im
    x += im.shape[1] + gap
  return out


def _vcat(images, gap):
  """Stack images vertically, horizontally centred, on white."""
  w = max(im.shape[1] for im in images)
  out = _canvas(sum(im.shape[0] for im in images) + gap * (len(images) - 1), w)
  y = 0
  for im in images:
    x = (w - im.shape[1]) // 2
    out[y:y + im.shape[0], x:x + im.shape[1]] = im
    y += im.shape[0] + gap
  return out


def _write(path, image):
  with writing('the figure', path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    written = cv2.imwrite(path, image)
  if not written:
    raise OutputError('cannot write the figure %s (cv2.imwrite failed)' % path)
  return image


def _fmt(v):
  return '%.3g' % v


# ------------------------------------------------------------------- heatmaps
def _pick_ticks(n, labels, cell, size_fn):
  """Every s-th ``(index, label)`` with s in 1, 2, 5, 10, 20, ... the
  smallest step whose spacing ``s * cell`` px fits the largest label."""
  labels = [str(i) for i in range(n)] if labels is None else [str(l) for l in labels]
  if len(labels) != n:
    raise ValueError('got %d tick labels for an axis of length %d' % (len(labels), n))
  need = max(size_fn(l) for l in labels) + 6
  step, k = 1, 0
  while step * cell < need:
    k += 1
    step = (1, 2, 5)[k % 3] * 10 ** (k // 3)
  return [(i, labels[i]) for i in range(0, n, step)]


def _cell_size(shapes, cell_px, n_panels):
  """(cell_h, cell_w) in px shared by all panels: the long side of a panel
  aims at TARGET_PX (less for many panels), the short side at MIN_SHORT_PX."""
  if cell_px is not None:
    ch, cw = (cell_px, cell_px) if np.isscalar(cell_px) else cell_px
    return max(1, int(ch)), max(1, int(cw))
  rows = max(s[0] for s in shapes)
  cols = max(s[1] for s in shapes)
  target = max(200, min(TARGET_PX, 960 // n_panels))
  cell = max(MIN_CELL_PX, round(target / max(rows, cols)))
  return max(cell, math.ceil(MIN_SHORT_PX / rows)), max(cell, math.ceil(MIN_SHORT_PX / cols))


def _panel(cells, ch, cw, top, subtitle, row_ticks, col_ticks, col_label):
  """One heatmap axes: the block of colour ``cells`` [rows, cols, 3] starts
  ``top`` px below the canvas top, with ticks, subtitle and column label."""
  rows, cols = cells.shape[:2]
  block = np.repeat(np.repeat(cells, ch, axis=0), cw, axis=1)
  bh, bw = block.shape[:2]
  rt = _pick_ticks(rows, row_ticks, ch, lambda s: _text_size(s, TICK_SCALE)[1])
  ct = _pick_ticks(cols, col_ticks, cw, lambda s: _text_size(s, TICK_SCALE)[0])
  tick_h = max(_text_size(s, TICK_SCALE)[1] for _, s in ct)
  half_cw = max(_text_size(s, TICK_SCALE)[0] for _, s in ct) // 2 + 1
  left = max(max(_text_size(s, TICK_SCALE)[0] for _, s in rt) + TICK_LEN + 6, half_cw)
  right = max(half_cw - cw // 2, 2)
  label_h = _text_size(col_label, LABEL_SCALE)[1] + 6 if col_label else 0
  img = _canvas(top + bh + TICK_LEN + 4 + tick_h + label_h + 2, left + bw + right)
  img[top:top + bh, left:left + bw] = block
  cv2.rectangle(img, (left - 1, top - 1), (left + bw, top + bh), BLACK, 1)
  for i, s in rt:
    y = top + i * ch + ch // 2
    cv2.line(img, (left - 1 - TICK_LEN, y), (left - 1, y), BLACK, 1)
    _put(img, s, left - TICK_LEN - 4, y, TICK_SCALE, 'right')
  y0 = top + bh
  for j, s in ct:
    x = left + j * cw + cw // 2
    cv2.line(img, (x, y0), (x, y0 + TICK_LEN), BLACK, 1)
    _put(img, s, x, y0 + TICK_LEN + 3 + tick_h / 2, TICK_SCALE, 'center')
  _put(img, col_label, left + bw // 2, img.shape[0] - 2 - label_h / 2 + 3,
       LABEL_SCALE, 'center')
  _put(img, subtitle, left + bw // 2, top / 2, LABEL_SCALE, 'center')
  return img


def _colorbar(height, top, vmin, vmax, colormap):
  """Vertical colour-bar legend, vmax at the top, block starting at ``top``."""
  ramp = np.linspace(255, 0, height).round().astype(np.uint8)[:, None]
  bar = cv2.applyColorMap(np.repeat(ramp, BAR_W, axis=1), colormap)
  ticks = [(0, vmax), (height // 2, (vmin + vmax) / 2), (height - 1, vmin)]
  text_w = max(_text_size(_fmt(v), TICK_SCALE)[0] for _, v in ticks)
  img = _canvas(top + height + top, BAR_W + TICK_LEN + 4 + text_w + 2)
  img[top:top + height, :BAR_W] = bar
  cv2.rectangle(img, (0, top - 1), (BAR_W - 1, top + height), BLACK, 1)
  for y, v in ticks:
    cv2.line(img, (BAR_W, top + y), (BAR_W + TICK_LEN, top + y), BLACK, 1)
    _put(img, _fmt(v), BAR_W + TICK_LEN + 3, top + y, TICK_SCALE)
  return img


def heatmap_grid(panels, path, title='', row_label='', col_label='',
                 row_ticks=None, col_ticks=None, vmin=None, vmax=None,
                 colormap=cv2.COLORMAP_VIRIDIS, cell_px=None):
  """Several heatmaps side by side with one shared colour scale and legend.

  panels: list of ``(values, subtitle)``; ``values`` is a finite 2-D array
      ``[rows, cols]`` (panels may differ in shape; e.g. one per read head).
  row_ticks / col_ticks: optional list of ``rows`` / ``cols`` strings used
      for every panel (default: indices), thinned so they don't overlap.
  vmin, vmax: colour scale limits (default: min/max over all panels).
  cell_px: int or ``(h, w)`` block size per cell (default: automatic, the
      long side of a panel ~480 px, fewer for many panels, >= 2 px/cell).
  Writes the PNG to ``path`` and returns the BGR uint8 image ``[H, W, 3]``.
  """
  if not panels:
    raise ValueError('heatmap_grid needs at least one panel (%s)' % path)
  arrays = []
  for values, _ in panels:
    a = np.asarray(values, dtype=np.float64)
    if a.ndim != 2:
      raise ValueError('heatmap values must be 2-D [rows, cols], got shape %s (%s)'
                       % (a.shape, path))
    if a.size == 0 or not np.isfinite(a).all():
      raise ValueError('heatmap values for %s are empty or contain NaN/inf' % path)
    arrays.append(a)
  lo = min(a.min() for a in arrays) if vmin is None else float(vmin)
  hi = max(a.max() for a in arrays) if vmax is None else float(vmax)
  span = hi - lo if hi > lo else 1.0
  ch, cw = _cell_size([a.shape for a in arrays], cell_px, len(arrays))
  subtitles = [s for _, s in panels]
  top = max([_text_size(s, LABEL_SCALE)[1] + 10 for s in subtitles if s]
            + [_text_size('0', TICK_SCALE)[1]])
  parts = []
  for a, sub in zip(arrays, subtitles):
    levels = np.round(np.clip((a - lo) / span, 0.0, 1.0) * 255).astype(np.uint8)
    parts.append(_panel(cv2.applyColorMap(levels, colormap), ch, cw, top, sub,
                        row_ticks, col_ticks, col_label))
  bar_h = max(60, arrays[0].shape[0] * ch)
  parts.append(_colorbar(bar_h, top, lo, hi, colormap))
  if row_label:
    lab = _vertical_text(row_label, LABEL_SCALE)
    strip = _canvas(max(top + arrays[0].shape[0] * ch, lab.shape[0]), lab.shape[1])
    y = max(0, top + (arrays[0].shape[0] * ch - lab.shape[0]) // 2)
    strip[y:y + lab.shape[0]] = lab
    parts.insert(0, strip)
  body = _hcat(parts, GAP)
  if title:
    tw, th = _text_size(title, TITLE_SCALE)
    head = _canvas(th + 6, tw + 4)
    _put(head, title, 2, (th + 6) / 2, TITLE_SCALE)
    body = _vcat([head, body], 6)
  img = cv2.copyMakeBorder(body, PAD, PAD, PAD, PAD, cv2.BORDER_CONSTANT, value=WHITE)
  return _write(path, img)


def heatmap(values, path, title='', row_label='', col_label='', row_ticks=None,
            col_ticks=None, vmin=None, vmax=None, colormap=cv2.COLORMAP_VIRIDIS,
            cell_px=None):
  """Render one 2-D array ``values`` [rows, cols] as a colour heatmap with
  title, axis labels, ticks and colour-bar legend (see ``heatmap_grid``)."""
  return heatmap_grid([(values, '')], path, title=title, row_label=row_label,
                      col_label=col_label, row_ticks=row_ticks, col_ticks=col_ticks,
                      vmin=vmin, vmax=vmax, colormap=colormap, cell_px=cell_px)


# ---------------------------------------------------------------- image grid
def _to_bgr(image):
  """[H, W] grey (float in [0, 1] or uint8) or [H, W, 3] BGR uint8 -> BGR uint8."""
  a = np.asarray(image)
  if a.ndim == 3 and a.shape[2] == 1:
    a = a[:, :, 0]
  if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] != 3):
    raise ValueError('expected an [H, W] or [H, W, 3] image, got shape %s' % (a.shape,))
  if a.dtype != np.uint8:
    a = np.round(np.clip(np.nan_to_num(a.astype(np.float64)), 0.0, 1.0) * 255).astype(np.uint8)
  return cv2.cvtColor(a, cv2.COLOR_GRAY2BGR) if a.ndim == 2 else a


def image_grid(images, path, titles=None, ncols=None, scale=None):
  """Tile images in a grid with an optional small title above each.

  images: list of [H, W] grey (float in [0, 1] or uint8) or [H, W, 3] BGR
      uint8 arrays (sizes may differ; each is top-centred in its cell).
  titles: optional list of strings, one per image.
  ncols: columns in the grid (default ``ceil(sqrt(len(images)))``).
  scale: integer nearest-neighbour upscale (default ``max(1, 128 // size)``
      for the largest image side, i.e. 4 for 28x28 MNIST digits).
  Layout: cells of ``(title_h + H*scale) x (W*scale)`` separated and framed
  by PAD px of white. Writes the PNG and returns the BGR uint8 image.
  """
  tiles = [_to_bgr(im) for im in images]
  if not tiles:
    raise ValueError('image_grid needs at least one image (%s)' % path)
  if titles is not None and len(titles) != len(tiles):
    raise ValueError('got %d titles for %d images' % (len(titles), len(tiles)))
  titles = [str(t) for t in titles] if titles is not None else None
  scale = scale or max(1, 128 // max(max(t.shape[:2]) for t in tiles))
  tiles = [np.repeat(np.repeat(t, scale, axis=0), scale, axis=1) for t in tiles]
  ncols = ncols or math.ceil(math.sqrt(len(tiles)))
  nrows = math.ceil(len(tiles) / ncols)
  title_h = max(_text_size(t, TICK_SCALE)[1] for t in titles) + 4 if titles else 0
  cell_h = max(t.shape[0] for t in tiles) + title_h
  cell_w = max([t.shape[1] for t in tiles]
               + [_text_size(t, TICK_SCALE)[0] for t in titles or []])
  img = _canvas(nrows * (cell_h + PAD) + PAD, ncols * (cell_w + PAD) + PAD)
  for k, tile in enumerate(tiles):
    y = PAD + (k // ncols) * (cell_h + PAD)
    x = PAD + (k % ncols) * (cell_w + PAD)
    if titles:
      _put(img, titles[k], x + cell_w // 2, y + title_h / 2 - 1,
           TICK_SCALE, 'center')
    x += (cell_w - tile.shape[1]) // 2
    img[y + title_h:y + title_h + tile.shape[0], x:x + tile.shape[1]] = tile
  return _write(path, img)


# ------------------------------------------------------------ drawing helpers
# Points are (row, col) in pixel-edge coordinates of an unscaled grid: (0, 0)
# is the top-left corner of the top-left cell and (H, W) the bottom-right
# corner of the last one, so a grid upscaled by ``scale`` maps a point p to
# ``p * scale`` px. OpenCV puts pixel centres at integers, hence the -0.5.
_SHIFT = 4  # fractional bits for sub-pixel OpenCV drawing


def upscale(image, scale):
  """Nearest-neighbour upscale of ``image`` ([H, W] grey, float in [0, 1] or
  uint8, or [H, W, 3] BGR uint8) to a BGR uint8 image [H*scale, W*scale, 3]."""
  scale = int(scale)
  if scale < 1:
    raise ValueError('upscale factor must be a positive integer, got %r' % scale)
  return np.ascontiguousarray(np.repeat(np.repeat(_to_bgr(image), scale, axis=0),
                                        scale, axis=1))


def _cv_points(points, scale):
  """[N, 2] (row, col) edge coordinates -> [N, 2] int32 fixed-point (x, y)."""
  p = np.asarray(points, np.float64).reshape(-1, 2)
  if not np.isfinite(p).all():
    raise ValueError('points must be finite, got %s' % (p.tolist(),))
  xy = p[:, ::-1] * scale - 0.5
  return np.round(xy * (1 << _SHIFT)).astype(np.int32)


def draw_polyline(image, points, colour, thickness=2, scale=1, antialias=True):
  """Draw a polyline through ``points`` [N, 2] ((row, col) pixel-edge
  coordinates of the grid that ``image`` shows upscaled by ``scale``) onto the
  BGR ``image`` [H, W, 3] in place; returns ``image``. One point draws nothing."""
  pts = _cv_points(points, scale)
  if len(pts) > 1:
    cv2.polylines(image, [pts], False, colour, thickness,
                  cv2.LINE_AA if antialias else cv2.LINE_8, _SHIFT)
  return image


def draw_circle(image, point, radius, colour, thickness=-1, scale=1, antialias=True):
  """Circle of ``radius`` px centred on ``point`` (row, col) in pixel-edge
  coordinates (see ``draw_polyline``); ``thickness=-1`` fills it. In place."""
  centre = _cv_points(point, scale)[0]
  cv2.circle(image, (int(centre[0]), int(centre[1])), int(round(radius * (1 << _SHIFT))),
             colour, thickness, cv2.LINE_AA if antialias else cv2.LINE_8, _SHIFT)
  return image


def draw_rectangle(image, top_left, bottom_right, colour, thickness=1, scale=1):
  """Outline of the cells between the edge coordinates ``top_left`` and
  ``bottom_right`` ((row, col), scaled by ``scale`` and rounded to whole px),
  drawn just inside that area so that a box flush with the border stays
  visible. Aliased lines keep the colour exact. In place; returns ``image``."""
  (r0, c0), (r1, c1) = [[int(round(v * scale)) for v in p] for p in (top_left, bottom_right)]
  if r1 > r0 and c1 > c0:
    cv2.rectangle(image, (c0, r0), (c1 - 1, r1 - 1), colour, thickness, cv2.LINE_8)
  return image


# ----------------------------------------------------------- figure assembly
def text_strip(text, width, scale=LABEL_SCALE):
  """A white strip ``width`` px wide (wider if the text needs it) with ``text``
  centred on it (a title)."""
  w, h = _text_size(text, scale)
  width = max(width, w + 4)
  strip = _canvas(h + 6, width)
  _put(strip, text, width // 2, (h + 6) / 2, scale, 'center')
  return strip


def hstack(images, gap=GAP):
  """BGR images side by side, top aligned, ``gap`` px of white between."""
  return _hcat(images, gap)


def vstack(images, gap=6):
  """BGR images stacked, horizontally centred, ``gap`` px of white between."""
  return _vcat(images, gap)


def tile_grid(tiles, col_titles=None, row_titles=None, gap=PAD // 2):
  """Equal-sized BGR tiles ``tiles[r][c]`` ([h, w, 3] uint8) in a grid on
  white, with optional text above each column and right-aligned left of each
  row (TICK_SCALE). Returns the BGR image; writes nothing."""
  rows, cols = len(tiles), len(tiles[0])
  h, w = tiles[0][0].shape[:2]
  col_titles = [str(t) for t in col_titles] if col_titles is not None else None
  row_titles = [str(t) for t in row_titles] if row_titles is not None else None
  label_w = max(_text_size(t, TICK_SCALE)[0] for t in row_titles) + 6 if row_titles else 0
  col_w = max([w] + [_text_size(t, TICK_SCALE)[0] for t in col_titles or []])
  head_h = max(_text_size(t, TICK_SCALE)[1] for t in col_titles) + 6 if col_titles else 0
  img = _canvas(head_h + rows * (h + gap) - gap, label_w + cols * (col_w + gap) - gap)
  for c in range(cols):
    x = label_w + c * (col_w + gap)
    if col_titles:
      _put(img, col_titles[c], x + col_w // 2, head_h / 2, TICK_SCALE, 'center')
    for r in range(rows):
      y = head_h + r * (h + gap)
      img[y:y + h, x + (col_w - w) // 2:x + (col_w - w) // 2 + w] = tiles[r][c]
  for r, text in enumerate(row_titles or []):
    _put(img, text, label_w - 6, head_h + r * (h + gap) + h / 2, TICK_SCALE, 'right')
  return img


def save_png(path, image, border=PAD):
  """Frame ``image`` with ``border`` px of white, write it as PNG (creating
  parent directories) and return the framed BGR image."""
  if border:
    image = cv2.copyMakeBorder(image, border, border, border, border, cv2.BORDER_CONSTANT,
                               value=WHITE)
  return _write(path, image)


# ------------------------------------------------------------------ animation
_GIF_COLOURS = 255   # palette entries for colours; the rest are spares (see below)


def _palette_indices(rgb):
  """[T, H, W, 3] RGB uint8 -> (indices [T, H, W] uint8, palette [n, 3] uint8).

  Exact when there are at most _GIF_COLOURS colours, otherwise a median-cut
  palette shared by all frames (no dithering), so colours don't flicker."""
  packed = (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]
  colours, inverse = np.unique(packed, return_inverse=True)
  if len(colours) <= _GIF_COLOURS:
    palette = np.stack([colours >> 16, (colours >> 8) & 255, colours & 255], -1)
    return inverse.reshape(packed.shape).astype(np.uint8), palette.astype(np.uint8)
  from PIL import Image  # pylint: disable=import-outside-toplevel
  t, h, w = packed.shape
  montage = Image.fromarray(np.ascontiguousarray(rgb.reshape(t * h, w, 3)))
  quantised = montage.quantize(colors=240, dither=Image.Dither.NONE)
  palette = np.array(quantised.getpalette()[:3 * 240], np.uint8).reshape(-1, 3)
  return np.array(quantised, np.uint8).reshape(t, h, w), palette


def animation(frames, path, frame_ms=100, loop=0):
  """Write the frames as an animated GIF that browsers play.

  frames: list or array of images, all the same size: [H, W, 3] BGR uint8 or
      [H, W] grey (float in [0, 1] or uint8).
  frame_ms: display time of each frame in ms (GIF stores 10 ms units;
      browsers slow delays under 20 ms down to 100 ms).
  loop: 0 loops forever, n plays n + 1 times, None plays once.
  With at most 255 distinct colours over all frames the palette is exact,
  otherwise one shared 240-colour palette is used. Every frame is kept, also
  one equal to its predecessor (Pillow would merge those). Creates the parent
  directories and returns ``path``.
  """
  from PIL import Image  # pylint: disable=import-outside-toplevel
  if frames is None or len(frames) == 0:
    raise ValueError('animation needs at least one frame (%s)' % path)
  bgr = [_to_bgr(f) for f in frames]
  for i, f in enumerate(bgr):
    if f.shape != bgr[0].shape:
      raise ValueError('animation frame %d has size %dx%d but frame 0 has %dx%d (%s)'
                       % (i, f.shape[0], f.shape[1], bgr[0].shape[0], bgr[0].shape[1], path))
  if not frame_ms > 0:
    raise ValueError('frame_ms must be positive, got %r (%s)' % (frame_ms, path))
  indices, palette = _palette_indices(np.stack(bgr)[..., ::-1])
  # Pillow drops a frame equal to the previous one (adding its duration), so
  # such a frame gets one pixel switched to a spare palette entry of the same
  # colour: the GIF keeps one frame per input and looks the same.
  spares = {}  # colour index -> spare index holding the same colour
  palette = list(map(tuple, palette))
  for t in range(1, len(indices)):
    if not np.array_equal(indices[t], indices[t - 1]):
      continue
    flat = indices[t].reshape(-1)
    for regular, spare in spares.items():
      hits = np.flatnonzero((flat == regular) | (flat == spare))
      if hits.size:
        flat[hits[0]] = spare if flat[hits[0]] == regular else regular
        break
    else:
      if len(palette) < 256:  # otherwise Pillow merges it; the timing stays right
        spares[int(flat[0])] = len(palette)
        palette.append(palette[flat[0]])
        flat[0] = spares[int(flat[0])]
  flat_palette = [c for colour in palette for c in colour]
  images = []
  for idx in indices:
    im = Image.frombytes('P', (idx.shape[1], idx.shape[0]), np.ascontiguousarray(idx).tobytes())
    im.putpalette(flat_palette)
    images.append(im)
  kwargs = {} if loop is None else {'loop': int(loop)}
  with writing('the animation', path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    images[0].save(path, format='GIF', save_all=True, append_images=images[1:],
                   duration=int(round(frame_ms)), optimize=False, disposal=1, **kwargs)
  return path


# ------------------------------------------------------------ state tiles
_LUTS = {}


def _colour_lut(colormap):
  """The colour map as a `[256, 3]` BGR table (one applyColorMap call per map:
  per-tile calls cost ~10 ms each on a busy machine)."""
  if colormap not in _LUTS:
    _LUTS[colormap] = cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], colormap)[:, 0]
  return _LUTS[colormap]


def colour_tile(values, px, vmin, vmax, colormap=cv2.COLORMAP_VIRIDIS):
  """A finite 2-D array as a ``px`` x ``px`` BGR tile: linear from ``[vmin, vmax]``
  (clipped) onto ``colormap``, each cell a nearest-neighbour block."""
  a = np.asarray(values, dtype=np.float64)
  if a.ndim != 2 or not np.isfinite(a).all():
    raise ValueError('colour_tile needs a finite 2-D array, got shape %s' % (a.shape,))
  span = vmax - vmin if vmax > vmin else 1.0
  levels = np.round(np.clip((a - vmin) / span, 0.0, 1.0) * 255).astype(np.uint8)
  return cv2.resize(_colour_lut(colormap)[levels], (px, px), interpolation=cv2.INTER_NEAREST)


def wrapped_grey_tile(values, px):
  """A 2-D array as a grey ``px`` x ``px`` tile the way the multigrid original
  draws its LSTM panel: (v + 1) / 2 * 255 cast to uint8 with no clipping, so a
  value outside [-1, 1] wraps around (truncated toward zero, modulo 256)."""
  a = (np.asarray(values, dtype=np.float64) + 1) / 2 * 255
  grey = (np.trunc(a).astype(np.int64) % 256).astype(np.uint8)
  return cv2.resize(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), (px, px),
                    interpolation=cv2.INTER_NEAREST)


def colour_bar(label, vmin, vmax, width=160, colormap=cv2.COLORMAP_VIRIDIS):
  """A horizontal colour-scale legend: ``label`` above the ramp, ``vmin`` below
  its left end and ``vmax`` below its right end. Returns the BGR image."""
  ramp = np.linspace(0, 255, width).round().astype(np.uint8)[None, :]
  bar = cv2.applyColorMap(np.repeat(ramp, BAR_W, axis=0), colormap)
  cv2.rectangle(bar, (0, 0), (width - 1, BAR_W - 1), BLACK, 1)
  lo, hi = _fmt(vmin), _fmt(vmax)
  tick_h = _text_size('0', TICK_SCALE)[1]
  ticks = _canvas(tick_h + 4, width)
  _put(ticks, lo, 0, (tick_h + 4) / 2, TICK_SCALE)
  _put(ticks, hi, width, (tick_h + 4) / 2, TICK_SCALE, 'right')
  return _vcat([text_strip(label, width, TICK_SCALE), bar, ticks], 2)
