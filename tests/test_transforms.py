"""Tests for common/data/transforms.py (spec recurrent_attention.md 4.1, 4.3, 4.4, 8.8, 8.10).

Uses synthetic digits (every image distinct and identifiable), so no MNIST
files are needed.  Checks placement ranges, that each digit lands whole and
unaltered (order, hence labels, unchanged), pixel sums, max-compositing of the
clutter against a loop-based rebuild, the same-batch pool, determinism for a
seeded generator, dtypes, normalisation and speed.
"""
import time

import numpy as np
import pytest

from common.data import transforms

N, SIDE, S = 64, 28, 60


def digits(count=N, seed=0, dtype=np.uint8):
  """Random sparse 'digits': ink in the middle, background 0, each image unique."""
  rng = np.random.default_rng(seed)
  images = np.zeros((count, SIDE, SIDE), dtype)
  ink = rng.integers(1, 256, size=(count, 16, 16)) * (rng.random((count, 16, 16)) < 0.3)
  images[:, 6:22, 6:22] = ink.astype(dtype)
  images[:, 14, 14] = np.arange(count) % 255 + 1  # an always-inked, identifying pixel
  return images


def ink(images):
  """Per-image pixel sum, `[N]` int64."""
  return images.reshape(len(images), -1).sum(1, dtype=np.int64)


def crop(canvases, corners, size):
  return np.stack([c[r:r + size, q:q + size] for c, (r, q) in zip(canvases, corners)])


# --------------------------------------------------------------------------- translate (4.3)

def test_translate_shape_dtype_and_digit_whole_in_place():
  images = digits()
  canvases, placement = transforms.translate(images, rng=np.random.default_rng(1),
                                             return_placement=True)
  assert canvases.shape == (N, S, S) and canvases.dtype == np.uint8
  corners = placement.digit_corners
  assert corners.shape == (N, 2) and corners.min() >= 0 and corners.max() <= S - SIDE
  np.testing.assert_array_equal(crop(canvases, corners, SIDE), images)  # same order: labels hold
  np.testing.assert_array_equal(ink(canvases), ink(images))  # pixel sum preserved
  outside = canvases.copy()
  for c, (r, q) in zip(outside, corners):
    c[r:r + SIDE, q:q + SIDE] = 0
  assert not outside.any()


def test_translate_corners_uniform_over_0_to_32():
  empty = np.zeros((20000, SIDE, SIDE), np.uint8)
  corners = transforms.translate(empty, rng=np.random.default_rng(2),
                                 return_placement=True)[1].digit_corners
  for axis in range(2):
    counts = np.bincount(corners[:, axis], minlength=33)
    assert counts.size == 33 and counts.min() > 0.7 * 20000 / 33  # 0 and 32 both reachable


def test_translate_normalized_background_and_whole_digit():
  images = transforms.normalize(digits())
  canvases, placement = transforms.translate(images, rng=np.random.default_rng(3),
                                             return_placement=True)
  assert canvases.dtype == np.float32
  np.testing.assert_array_equal(crop(canvases, placement.digit_corners, SIDE), images)
  assert np.sum(canvases == -1.0) == np.sum(images == -1.0) + N * (S * S - SIDE * SIDE)


def test_translate_other_canvas_sizes_and_errors():
  images = digits(4)
  assert transforms.translate(images, 28, rng=np.random.default_rng(0)).shape == (4, 28, 28)
  same_size = transforms.translate(images, 28, rng=np.random.default_rng(0))
  np.testing.assert_array_equal(same_size, images)
  assert transforms.translate(images, 100, rng=np.random.default_rng(0)).shape == (4, 100, 100)
  with pytest.raises(ValueError, match="smaller"):
    transforms.translate(images, 20, rng=np.random.default_rng(0))
  with pytest.raises(ValueError, match=r"\[N, height, width\]"):
    transforms.translate(images[0], rng=np.random.default_rng(0))


# --------------------------------------------------------------------------- clutter (4.4)

def rebuild(images, sources_array, placement, num_pieces=4, piece=8, background=0):
  """Loop-based clutter from the recorded placement: paste digit, then max in each piece."""
  out = np.full((len(images), S, S), background, images.dtype)
  for n, image in enumerate(images):
    r, q = placement.digit_corners[n]
    out[n, r:r + SIDE, q:q + SIDE] = image
    for k in range(num_pieces):
      src = sources_array[placement.piece_sources[n, k]]
      sr, sq = placement.piece_source_corners[n, k]
      cr, cq = placement.piece_corners[n, k]
      region = out[n, cr:cr + piece, cq:cq + piece]
      out[n, cr:cr + piece, cq:cq + piece] = np.maximum(region, src[sr:sr + piece, sq:sq + piece])
  return out


def test_clutter_equals_max_composite_of_recorded_pieces():
  images = digits()
  canvases, placement = transforms.clutter(images, rng=np.random.default_rng(4),
                                           return_placement=True)
  assert canvases.shape == (N, S, S) and canvases.dtype == np.uint8
  np.testing.assert_array_equal(canvases, rebuild(images, images, placement))
  assert placement.piece_corners.shape == (N, 4, 2)
  assert placement.piece_corners.min() >= 0 and placement.piece_corners.max() <= S - 8
  cut = placement.piece_source_corners
  assert cut.min() >= 0 and cut.max() <= SIDE - 8


def test_clutter_keeps_digit_and_adds_ink_only_inside_pieces():
  images = digits()
  canvases, placement = transforms.clutter(images, rng=np.random.default_rng(5),
                                           return_placement=True)
  assert np.all(crop(canvases, placement.digit_corners, SIDE) >= images)  # max never erases
  covered = np.zeros(canvases.shape, bool)
  for n in range(N):
    r, q = placement.digit_corners[n]
    covered[n, r:r + SIDE, q:q + SIDE] = True
    for cr, cq in placement.piece_corners[n]:
      covered[n, cr:cr + 8, cq:cq + 8] = True
  assert not canvases[~covered].any()  # at most 4 pieces of 8x8 outside the digit
  translated = transforms.translate(images, rng=np.random.default_rng(5))
  np.testing.assert_array_equal(crop(translated, placement.digit_corners, SIDE), images)
  added = ink(canvases) - ink(images)
  assert np.all(added >= 0) and np.all(added <= 4 * 8 * 8 * 255)


def test_clutter_pool_is_same_batch_without_replacement():
  images = digits()
  placement = transforms.clutter(images, rng=np.random.default_rng(6), return_placement=True)[1]
  # Each image contributes exactly K pieces to the shuffled pool (spec 4.4 step 1).
  np.testing.assert_array_equal(np.bincount(placement.piece_sources.ravel(), minlength=N), 4)
  assert not np.all(placement.piece_sources == np.arange(N)[:, None])  # shuffled


def test_clutter_from_source_images_and_other_settings():
  images, sources = digits(16), digits(5, seed=9)
  canvases, placement = transforms.clutter(images, 100, 8, 8, rng=np.random.default_rng(7),
                                           source_images=sources, return_placement=True)
  assert canvases.shape == (16, 100, 100) and placement.piece_sources.max() < 5
  assert placement.piece_corners.max() <= 92 and placement.digit_corners.max() <= 72
  none = transforms.clutter(images, num_pieces=0, rng=np.random.default_rng(8))
  np.testing.assert_array_equal(none, transforms.translate(images, rng=np.random.default_rng(8)))
  with pytest.raises(ValueError, match="piece_size"):
    transforms.clutter(images, piece_size=29, rng=np.random.default_rng(0))


def test_clutter_normalized_matches_normalizing_afterwards():
  images = digits()
  raw = transforms.clutter(images, rng=np.random.default_rng(10))
  normed = transforms.clutter(transforms.normalize(images), rng=np.random.default_rng(10))
  assert normed.dtype == np.float32 and normed.min() == -1.0 and normed.max() <= 1.0
  np.testing.assert_array_equal(normed, transforms.normalize(raw))


# --------------------------------------------------------------------------- shared

@pytest.mark.parametrize("fn", [transforms.translate, transforms.clutter])
def test_deterministic_for_a_seeded_generator(fn):
  images = digits()
  a = fn(images, rng=np.random.default_rng(42))
  b = fn(images, rng=np.random.default_rng(42))
  c = fn(images, rng=np.random.default_rng(43))
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(a, c)


def test_normalize_is_the_originals_two_x_minus_one():
  x = np.arange(256, dtype=np.uint8).reshape(1, 16, 16)
  out = transforms.normalize(x)
  a = x.astype(np.float32) / np.float32(255)
  # torchvision ToTensor then Normalize(0.5, 0.5):
  np.testing.assert_array_equal(out, (a - np.float32(0.5)) / np.float32(0.5))
  assert out.dtype == np.float32 and out.min() == -1.0 and out.max() == 1.0


def test_a_60k_epoch_is_fast():
  images = np.random.default_rng(0).integers(0, 256, size=(60000, SIDE, SIDE), dtype=np.uint8)
  rng = np.random.default_rng(0)
  start = time.perf_counter()
  transforms.translate(images, rng=rng)
  transforms.clutter(images, rng=rng)
  assert time.perf_counter() - start < 5.0  # ~0.5 s here even on a loaded machine
