"""Multi-scale glimpse sensor ("retina") of the Recurrent Attention Model (Mnih et al. 2014).

Follows spec recurrent_attention.md 2.1, 2.2 and 8.4-8.6.  Shapes: `B` batch,
`H`, `W` image rows and columns, `C` channels, `w` glimpse side, `K` scales.

Conventions (spec 2.1):
  * `locations[:, 0]` is the row (y) and `locations[:, 1]` the column (x), both
    in [-1, 1]; kevinzakka's peer uses the opposite order.
  * The glimpse centre in pixel-edge coordinates is `p = floor(S * (l + 1) / 2)`,
    computed in float32, with `S = H` for rows and `S = W` for columns: `l = -1`
    gives 0, `l = +1` gives `S`, `l = 0` on 28x28 gives 14.
  * A square of side `2r` covers rows and columns `[p - r, p + r)`, so `l = 0`
    on 28x28 with an 8x8 glimpse covers 10..17.

Sensor (spec 2.2): with `r = w / 2` and `P = r * 2**(K - 1)`, cut the
`2P x 2P` square `[p - P, p + P)` from the image padded in replicate (edge)
mode, take scale `k = 1..K-1` as its central square of side `2P / 2**k`, and
reduce each square to `w x w`: bilinear with align_corners=True for
classification (`reduce='bilinear'`, point sampling, no anti-aliasing) or
non-overlapping max-pooling for Catch (`reduce='max'`).  Scales are stacked
coarsest first: index 0 is the largest field of view, index `K - 1` the native
resolution.

Padding is never materialised: the square is gathered with indices clipped to
the image (spec 8.4), which equals replicate padding followed by slicing and
cannot go out of bounds for any location.  `tf.image.extract_glimpse` is not
used (spec 8.4 lists its quirks).  A glimpse larger than the image is allowed
(the spec does not forbid it; Catch's coarsest field is the whole 24x24 board):
the part outside repeats the border pixels.
"""
import numpy as np
import tensorflow as tf

REDUCE_MODES = ("bilinear", "max")


def location_to_pixel(locations, height, width):
  """Glimpse centres in pixel-edge coordinates: `p = floor(S * (l + 1) / 2)` (spec 2.1).

  The original computes this in float32 and truncates when casting to int;
  for `l >= -1` the value is non-negative, so truncation equals floor.

  Args:
    locations: `[B, 2]` (row, column) in [-1, 1]; any float dtype, used as float32.
    height: image rows `H` (int or scalar tensor).
    width: image columns `W` (int or scalar tensor).
  Returns:
    `[B, 2]` int32 (row, column); 0 for `l = -1`, `H` or `W` for `l = +1`.
  """
  locations = tf.cast(locations, tf.float32)
  sides = tf.cast(tf.stack([height, width]), tf.float32)
  return tf.cast(tf.floor(sides * (locations + 1.0) / 2.0), tf.int32)


def bilinear_matrix(in_size, out_size):
  """Interpolation matrix of bilinear resizing with align_corners=True.

  Output index `i` reads input position `i * (n - 1) / (w - 1)` and blends its
  two neighbours (spec 2.2 step 4), so `M @ x` resizes a length-`n` signal to
  `w` samples.  Built in numpy at trace time; positions are computed in
  float32 as PyTorch and `tf.compat.v1.image.resize_bilinear` do.

  Args:
    in_size: `n`, the input side.
    out_size: `w`, the output side, >= 2 (or equal to `n`).
  Returns:
    `[w, n]` float64 numpy array; each row sums to 1 (the identity when n == w).
  """
  if in_size == out_size:
    return np.eye(out_size)
  scale = np.float32((in_size - 1) / (out_size - 1))
  source = scale * np.arange(out_size, dtype=np.float32)
  lower = np.minimum(np.floor(source).astype(np.int64), in_size - 1)
  upper = np.minimum(lower + 1, in_size - 1)
  frac = (source - lower).astype(np.float64)
  matrix = np.zeros((out_size, in_size))
  rows = np.arange(out_size)
  np.add.at(matrix, (rows, lower), 1.0 - frac)
  np.add.at(matrix, (rows, upper), frac)
  return matrix


def _check_args(images, locations, glimpse_size, num_scales, reduce):
  """Raises ValueError for arguments the sensor does not define."""
  if reduce not in REDUCE_MODES:
    raise ValueError(f"reduce must be one of {REDUCE_MODES}, got {reduce!r}")
  if not isinstance(glimpse_size, (int, np.integer)) or glimpse_size < 2 or glimpse_size % 2:
    # Spec 2.2: w is even, since every square is [p - w/2, p + w/2).
    raise ValueError(f"glimpse_size must be an even int >= 2, got {glimpse_size!r}")
  if not isinstance(num_scales, (int, np.integer)) or num_scales < 1:
    raise ValueError(f"num_scales must be an int >= 1, got {num_scales!r}")
  if images.shape.rank not in (3, 4):
    raise ValueError(f"images must be [B, H, W] or [B, H, W, C], got shape {images.shape}")
  if not images.dtype.is_floating:
    raise ValueError(f"images must be a float tensor (normalise first), got {images.dtype.name}")
  if locations.shape.rank != 2 or locations.shape[-1] not in (None, 2):
    raise ValueError(f"locations must be [B, 2] (row, column), got shape {locations.shape}")


def _reduce_square(square, glimpse_size, reduce):
  """Reduces one `[B, n, n, C]` square (n = w * 2**j) to `[B, w, w, C]`."""
  side = square.shape[1]
  if side == glimpse_size:
    return square  # the finest scale is returned unchanged in both modes
  if reduce == "max":
    # Non-overlapping max-pooling with kernel = stride = n / w, as a reshape so
    # that it needs no NHWC-only op and works for any C.
    factor = side // glimpse_size
    channels = square.shape[-1] if square.shape[-1] is not None else tf.shape(square)[-1]
    blocks = tf.reshape(square, [-1, glimpse_size, factor, glimpse_size, factor, channels])
    return tf.reduce_max(blocks, axis=[2, 4])
  matrix = tf.constant(bilinear_matrix(side, glimpse_size), dtype=square.dtype)
  rows = tf.einsum("in,bnmc->bimc", matrix, square)
  return tf.einsum("jm,bimc->bijc", matrix, rows)


def glimpse(images, locations, glimpse_size, num_scales, reduce="bilinear"):
  """Multi-scale retina: K squares around each location, each reduced to w x w.

  Scale `k` (0-based, coarsest first) covers a field of side
  `glimpse_size * 2**(num_scales - 1 - k)` centred on
  `location_to_pixel(locations)`.  The locations carry no gradient (spec 2.3:
  they are sampled without reparameterisation, and the pixel mapping is a
  floor); gradients flow to `images` only.

  Args:
    images: `[B, H, W]` or `[B, H, W, C]` float; `H`, `W` may be dynamic, `B` may be unknown.
    locations: `[B, 2]` (row, column) in [-1, 1]; values outside are safe (clipped gather).
    glimpse_size: `w`, even int >= 2.
    num_scales: `K`, int >= 1; successive fields differ by a factor of 2.
    reduce: 'bilinear' (align_corners=True; classification) or 'max'
      (non-overlapping max-pooling; Catch).
  Returns:
    `[B, K, w, w]` for 3-D images or `[B, K, w, w, C]` for 4-D images, dtype of
    `images`; index 0 along K is the largest field of view.  For C = 1,
    `tf.reshape(out, [B, -1])` is the original's (scale, row, column) flattening
    (spec 2.2 step 5, 8.5).
  Raises:
    ValueError: unknown `reduce`, odd or too small `glimpse_size`, `num_scales`
      < 1, or images / locations of the wrong rank or dtype.
  """
  images = tf.convert_to_tensor(images)
  locations = tf.convert_to_tensor(locations)
  _check_args(images, locations, glimpse_size, num_scales, reduce)
  squeeze = images.shape.rank == 3
  if squeeze:
    images = images[..., tf.newaxis]
  height, width = tf.shape(images)[1], tf.shape(images)[2]

  half = glimpse_size // 2 * 2 ** (num_scales - 1)  # P, half-width of the largest field
  centres = location_to_pixel(tf.stop_gradient(locations), height, width)
  offsets = tf.range(2 * half, dtype=tf.int32) - half  # [2P], covers [p - P, p + P)
  # Clipping the indices to the image is replicate padding followed by slicing.
  rows = tf.clip_by_value(centres[:, :1] + offsets, 0, height - 1)  # [B, 2P]
  cols = tf.clip_by_value(centres[:, 1:] + offsets, 0, width - 1)  # [B, 2P]
  largest = tf.gather(images, rows, axis=1, batch_dims=1)  # [B, 2P, W, C]
  largest = tf.gather(largest, cols, axis=2, batch_dims=1)  # [B, 2P, 2P, C]

  scales = []
  for k in range(num_scales):  # coarsest first; the finer squares are static central slices
    margin = half - half // 2 ** k
    square = largest[:, margin:2 * half - margin, margin:2 * half - margin, :]
    scales.append(_reduce_square(square, glimpse_size, reduce))
  out = tf.stack(scales, axis=1)  # [B, K, w, w, C]
  return out[..., 0] if squeeze else out
