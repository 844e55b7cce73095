"""Tests for common/kernels/glimpse.py (spec recurrent_attention.md 2.1, 2.2, 5, 8.4-8.6).

Checks the pixel mapping and (row, column) order, exact crops at the centre,
edges and corners against an independent numpy reference (np.pad 'edge' +
slicing + loop-based resizing), the spec's worked examples, hand-computed
bilinear and max reductions, replicate (not zero) padding, XLA == eager, an
unknown batch size, channels, gradients, and argument errors.
"""
import numpy as np
import pytest
import tensorflow as tf

from common.kernels import glimpse as glimpse_lib
from common.kernels.glimpse import glimpse, location_to_pixel


# --------------------------------------------------------------------------- numpy reference

def np_bilinear_1d(size_in, size_out):
  """Loop-based align_corners=True weights, computed independently of the kernel."""
  weights = np.zeros((size_out, size_in))
  for i in range(size_out):
    pos = i * (size_in - 1) / (size_out - 1) if size_out > 1 else 0.0
    lo = min(int(np.floor(pos)), size_in - 1)
    hi = min(lo + 1, size_in - 1)
    weights[i, lo] += 1.0 - (pos - lo)
    weights[i, hi] += pos - lo
  return weights


def np_glimpse(image, location, w, k_scales, reduce):
  """Spec 2.2 literally, for one `[H, W]` image: pad by P (edge), slice, shrink, resize."""
  height, width = image.shape
  half = w // 2 * 2 ** (k_scales - 1)
  p_row = int(np.floor(np.float32(height) * (np.float32(location[0]) + 1) / 2))
  p_col = int(np.floor(np.float32(width) * (np.float32(location[1]) + 1) / 2))
  padded = np.pad(image.astype(np.float64), half, mode="edge")
  big = padded[p_row:p_row + 2 * half, p_col:p_col + 2 * half]  # [p - P, p + P) in image coords
  out = []
  for k in range(k_scales):
    side = 2 * half // 2 ** k
    m = (2 * half - side) // 2
    square = big[m:m + side, m:m + side]
    if side == w:
      out.append(square)
    elif reduce == "max":
      f = side // w
      out.append(np.array([[square[i * f:(i + 1) * f, j * f:(j + 1) * f].max() for j in range(w)]
                           for i in range(w)]))
    else:
      m_1d = np_bilinear_1d(side, w)
      out.append(m_1d @ square @ m_1d.T)
  return np.stack(out)


def ref_batch(images, locations, w, k_scales, reduce):
  return np.stack([np_glimpse(im, lo, w, k_scales, reduce) for im, lo in zip(images, locations)])


def f32(x):
  return tf.constant(np.asarray(x, dtype=np.float32))


def distinct_image(height, width, batch=1):
  """Every pixel a different value, so any misplaced pixel shows."""
  return np.arange(batch * height * width, dtype=np.float32).reshape(batch, height, width)


# --------------------------------------------------------------------------- conventions (2.1)

def test_location_to_pixel_maps_square_onto_image_extent():
  locs = f32([[-1.0, -1.0], [0.0, 0.0], [1.0, 1.0], [-1.0, 1.0], [0.5, -0.5]])
  np.testing.assert_array_equal(location_to_pixel(locs, 28, 60).numpy(),
                                [[0, 0], [14, 30], [28, 60], [0, 60], [21, 15]])
  # Floor, not round: 28 * 1.99 / 2 = 27.86 -> 27.
  assert location_to_pixel(f32([[0.99, 0.99]]), 28, 28).numpy().tolist() == [[27, 27]]


def test_centered_28x28_8x8_covers_rows_and_cols_10_to_17():
  image = distinct_image(28, 28)
  out = glimpse(f32(image), f32([[0.0, 0.0]]), 8, 1).numpy()
  assert out.shape == (1, 1, 8, 8)
  np.testing.assert_array_equal(out[0, 0], image[0, 10:18, 10:18])


def test_component_0_is_row_and_component_1_is_column():
  size, row, col = 28, 5, 20
  image = np.zeros((1, size, size), np.float32)
  image[0, row, col] = 1.0
  # p = floor(S (l + 1) / 2) = r for l = (2r + 1) / S - 1;
  # a 4x4 square [p-2, p+2) puts it at [2, 2].
  loc = [(2 * row + 1) / size - 1, (2 * col + 1) / size - 1]
  out = glimpse(f32(image), f32([loc]), 4, 1).numpy()[0, 0]
  expected = np.zeros((4, 4), np.float32)
  expected[2, 2] = 1.0
  np.testing.assert_array_equal(out, expected)
  swapped = glimpse(f32(image), f32([loc[::-1]]), 4, 1).numpy()
  assert swapped.max() == 0.0  # (x, y) order would miss the pixel


@pytest.mark.parametrize("loc", [[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0],
                                 [-1.0, 0.0], [0.0, 1.0], [0.93, -0.41]])
def test_edges_and_corners_replicate_border_pixels(loc):
  image = distinct_image(10, 12)
  out = glimpse(f32(image), f32([loc]), 6, 1).numpy()[0, 0]
  p_row, p_col = location_to_pixel(f32([loc]), 10, 12).numpy()[0]
  rows = np.clip(np.arange(p_row - 3, p_row + 3), 0, 9)
  cols = np.clip(np.arange(p_col - 3, p_col + 3), 0, 11)
  np.testing.assert_array_equal(out, image[0][np.ix_(rows, cols)])


def test_top_left_corner_hand_values():
  image = distinct_image(4, 4)[0]  # 0..15
  out = glimpse(f32(image[None]), f32([[-1.0, -1.0]]), 4, 1).numpy()[0, 0]
  # p = (0, 0): rows and cols [-2, 2) -> indices 0, 0, 0, 1.
  np.testing.assert_array_equal(out, [[0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 1], [4, 4, 4, 5]])


def test_padding_is_replicate_not_zero():
  image = np.full((1, 8, 8), -1.0, np.float32)  # MNIST background after 2x - 1
  out = glimpse(f32(image), f32([[1.0, -1.0]]), 8, 2).numpy()
  np.testing.assert_array_equal(out, -1.0)
  catch = np.zeros((1, 24, 24), np.float32)
  catch[0, 23, 10:12] = 1.0  # paddle on the bottom row is smeared downward
  out = glimpse(f32(catch), f32([[1.0, -0.125]]), 6, 1).numpy()[0, 0]
  # p = (24, 10): rows 21..26 (24..26 replicate row 23), cols 7..12.
  np.testing.assert_array_equal(out[2:, 3:5], 1.0)
  assert out.sum() == 8.0


def test_glimpse_larger_than_image_is_allowed_and_replicates():
  image = distinct_image(4, 4)
  loc = [[0.3, -0.8]]
  out = glimpse(f32(image), f32(loc), 8, 2, reduce="max").numpy()
  np.testing.assert_array_equal(out, ref_batch(image, loc, 8, 2, "max"))


# ----------------------------------------------------------------- scales and reduction (2.2)

@pytest.mark.parametrize("reduce", ["bilinear", "max"])
@pytest.mark.parametrize("w,k_scales,size", [(8, 1, 28), (12, 3, 60), (6, 3, 24), (4, 4, 17)])
def test_matches_numpy_reference_every_scale(reduce, w, k_scales, size):
  rng = np.random.default_rng(w + k_scales)
  images = rng.uniform(-1, 1, size=(5, size, size)).astype(np.float32)
  locs = rng.uniform(-1, 1, size=(5, 2)).astype(np.float32)
  locs[:2] = [[-1.0, 1.0], [1.0, 1.0]]  # tanh can round to exactly +-1
  out = glimpse(f32(images), f32(locs), w, k_scales, reduce=reduce).numpy()
  assert out.shape == (5, k_scales, w, w)
  # The kernel places samples in float32 like PyTorch; the reference in float64.
  np.testing.assert_allclose(out, ref_batch(images, locs, w, k_scales, reduce), atol=2e-5)


def test_translated_worked_example_fields_coarsest_first():
  # Spec 2.2: S=60, w=12, K=3, l=0 -> p=30, fields 6..53, 18..41, 24..35.
  image = distinct_image(60, 60)
  out = glimpse(f32(image), f32([[0.0, 0.0]]), 12, 3, reduce="max").numpy()[0]
  np.testing.assert_array_equal(out[2], image[0, 24:36, 24:36])  # finest, unchanged
  np.testing.assert_array_equal(out[1], image[0, 19:42:2, 19:42:2])  # max of 2x2 = bottom-right
  np.testing.assert_array_equal(out[0], image[0, 9:54:4, 9:54:4])  # max of 4x4 = bottom-right
  bilinear = glimpse(f32(image), f32([[0.0, 0.0]]), 12, 3).numpy()[0]
  np.testing.assert_array_equal(bilinear[2], image[0, 24:36, 24:36])
  assert bilinear[0, 0, 0] == image[0, 6, 6] and bilinear[0, -1, -1] == image[0, 53, 53]
  assert bilinear[1, 0, 0] == image[0, 18, 18] and bilinear[1, -1, -1] == image[0, 41, 41]


def test_catch_coarsest_scale_is_whole_board_max_pooled():
  board = np.zeros((1, 24, 24), np.float32)
  board[0, 0, 23] = 1.0  # ball in the top-right corner, paddle bottom-left
  board[0, 23, 0:2] = 1.0
  out = glimpse(f32(board), f32([[0.0, 0.0]]), 6, 3, reduce="max").numpy()[0]
  pooled = board[0].reshape(6, 4, 6, 4).max(axis=(1, 3))
  np.testing.assert_array_equal(out[0], pooled)
  assert out[0, 0, 5] == 1.0 and out[0, 5, 0] == 1.0
  np.testing.assert_array_equal(out[1], board[0, 6:18, 6:18].reshape(6, 2, 6, 2).max(axis=(1, 3)))


def test_bilinear_vs_max_hand_computed():
  image = distinct_image(4, 4)  # [[0 1 2 3] [4 5 6 7] [8 9 10 11] [12 13 14 15]]
  # w=2, K=2: P=2, l=0 -> p=2, the largest square is the whole image.
  bil = glimpse(f32(image), f32([[0.0, 0.0]]), 2, 2, reduce="bilinear").numpy()[0]
  mx = glimpse(f32(image), f32([[0.0, 0.0]]), 2, 2, reduce="max").numpy()[0]
  np.testing.assert_array_equal(bil[0], [[0, 3], [12, 15]])  # align corners: samples 0 and 3
  np.testing.assert_array_equal(mx[0], [[5, 7], [13, 15]])  # 2x2 block maxima
  np.testing.assert_array_equal(bil[1], [[5, 6], [9, 10]])  # finest: central 2x2, unchanged
  np.testing.assert_array_equal(mx[1], [[5, 6], [9, 10]])


def test_bilinear_is_point_sampling_of_a_ramp():
  ramp = np.tile(np.arange(8, dtype=np.float32), (8, 1))[None]  # value = column
  # w=4, K=2, P=4, l=0 -> the whole 8x8; positions j * 7/3 = 0, 2.33, 4.67, 7.
  out = glimpse(f32(ramp), f32([[0.0, 0.0]]), 4, 2).numpy()[0, 0]
  np.testing.assert_allclose(out, np.tile([0.0, 7 / 3, 14 / 3, 7.0], (4, 1)), rtol=1e-6)
  mx = glimpse(f32(ramp), f32([[0.0, 0.0]]), 4, 2, reduce="max").numpy()[0, 0]
  np.testing.assert_array_equal(mx, np.tile([1.0, 3.0, 5.0, 7.0], (4, 1)))


def test_bilinear_matrix_48_to_12_and_tf_v1_align_corners():
  matrix = glimpse_lib.bilinear_matrix(48, 12)
  np.testing.assert_allclose(matrix.sum(axis=1), 1.0)
  np.testing.assert_allclose(matrix[1, 4:6], [1 - (47 / 11 - 4), 47 / 11 - 4], rtol=1e-6)
  np.testing.assert_array_equal(glimpse_lib.bilinear_matrix(12, 12), np.eye(12))
  rng = np.random.default_rng(1)
  images = rng.uniform(-1, 1, size=(3, 60, 60)).astype(np.float32)
  locs = f32([[0.0, 0.0], [-0.6, 0.2], [1.0, -1.0]])
  out = glimpse(f32(images), locs, 12, 3).numpy()
  p = location_to_pixel(locs, 60, 60).numpy()
  for b in range(3):
    padded = np.pad(images[b], 24, mode="edge")
    big = padded[p[b, 0]:p[b, 0] + 48, p[b, 1]:p[b, 1] + 48]
    v1 = tf.compat.v1.image.resize_bilinear(big[None, :, :, None], [12, 12], align_corners=True)
    np.testing.assert_allclose(out[b, 0], v1.numpy()[0, :, :, 0], atol=2e-6)


# --------------------------------------------------------------------------- TF mechanics

@pytest.mark.parametrize("reduce", ["bilinear", "max"])
def test_xla_equals_eager_and_unknown_batch(reduce):
  rng = np.random.default_rng(2)
  images = f32(rng.uniform(-1, 1, size=(4, 60, 60)))
  locs = f32(rng.uniform(-1, 1, size=(4, 2)))
  eager = glimpse(images, locs, 12, 3, reduce=reduce).numpy()
  xla = tf.function(lambda x, l: glimpse(x, l, 12, 3, reduce=reduce), jit_compile=True)
  np.testing.assert_allclose(xla(images, locs).numpy(), eager, atol=1e-5)
  dynamic = tf.function(lambda x, l: glimpse(x, l, 12, 3, reduce=reduce), input_signature=[
      tf.TensorSpec([None, 60, 60], tf.float32), tf.TensorSpec([None, 2], tf.float32)])
  np.testing.assert_allclose(dynamic(images, locs).numpy(), eager, atol=1e-6)
  np.testing.assert_allclose(dynamic(images[:1], locs[:1]).numpy(), eager[:1], atol=1e-6)


@pytest.mark.parametrize("reduce", ["bilinear", "max"])
def test_channels_are_independent(reduce):
  rng = np.random.default_rng(3)
  images = rng.uniform(-1, 1, size=(2, 24, 24, 3)).astype(np.float32)
  locs = f32(rng.uniform(-1, 1, size=(2, 2)))
  out = glimpse(f32(images), locs, 6, 3, reduce=reduce).numpy()
  assert out.shape == (2, 3, 6, 6, 3)
  for c in range(3):
    np.testing.assert_allclose(out[..., c], glimpse(f32(images[..., c]), locs, 6, 3, reduce=reduce),
                               atol=1e-6)


@pytest.mark.parametrize("reduce", ["bilinear", "max"])
def test_gradient_flows_to_images_not_locations(reduce):
  rng = np.random.default_rng(4)
  images = tf.Variable(rng.uniform(-1, 1, size=(3, 24, 24)).astype(np.float32))
  locs = tf.Variable(rng.uniform(-1, 1, size=(3, 2)).astype(np.float32))
  with tf.GradientTape() as tape:
    total = tf.reduce_sum(glimpse(images, locs, 6, 3, reduce=reduce))
  grad_images, grad_locs = tape.gradient(total, [images, locs])
  assert grad_locs is None  # spec 2.3: the glimpse location carries no gradient
  grad_images = tf.convert_to_tensor(grad_images).numpy()
  assert grad_images.shape == (3, 24, 24)
  # Every output value is a convex combination (bilinear) or one pick (max) of pixels.
  np.testing.assert_allclose(grad_images.sum(), 3 * 3 * 6 * 6, rtol=1e-5)
  assert np.all(grad_images >= 0) and np.count_nonzero(grad_images) > 0


def test_float64_input_keeps_dtype():
  out = glimpse(tf.zeros([2, 28, 28], tf.float64), tf.zeros([2, 2]), 8, 1)
  assert out.dtype == tf.float64


@pytest.mark.parametrize("kwargs,match", [
    (dict(reduce="area"), "reduce must be one of"),
    (dict(glimpse_size=7), "even int"),
    (dict(glimpse_size=0), "even int"),
    (dict(num_scales=0), "num_scales"),
])
def test_bad_arguments_raise(kwargs, match):
  args = dict(glimpse_size=8, num_scales=1, reduce="bilinear")
  args.update(kwargs)
  with pytest.raises(ValueError, match=match):
    glimpse(tf.zeros([1, 28, 28]), tf.zeros([1, 2]), **args)


def test_bad_shapes_and_dtypes_raise():
  with pytest.raises(ValueError, match="images must be"):
    glimpse(tf.zeros([28, 28]), tf.zeros([1, 2]), 8, 1)
  with pytest.raises(ValueError, match="float"):
    glimpse(tf.zeros([1, 28, 28], tf.uint8), tf.zeros([1, 2]), 8, 1)
  with pytest.raises(ValueError, match="locations must be"):
    glimpse(tf.zeros([1, 28, 28]), tf.zeros([1, 3]), 8, 1)
