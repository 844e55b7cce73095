"""Tests for common/data/canvases.py: the per-epoch MNIST canvases of the RAM
experiments (spec recurrent_attention.md 4.1-4.4)."""
import numpy as np
import pytest

from common.data import canvases


def digits(count=10, seed=0):
  rng = np.random.default_rng(seed)
  images = np.zeros((count, 28, 28), np.uint8)
  images[:, 4:24, 6:22] = rng.integers(1, 256, (count, 20, 16))  # ink away from the border
  return images, np.arange(count) % 10


def collect(data, **kwargs):
  batches = list(data.epoch(**kwargs))
  return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])


@pytest.mark.parametrize('kind, side', [('centered', 28), ('translated', 60), ('cluttered', 60)])
def test_batches_shapes_range_and_labels(kind, side):
  images, labels = digits(10)
  data = canvases.DigitCanvases(images, labels, kind, canvas_size=60)
  assert data.num_batches(4) == 3  # 4 + 4 + 2: the last batch is smaller
  batches = list(data.epoch(4, seed=1, stream=canvases.TRAIN_STREAM, epoch=1, shuffle=False))
  assert [len(b[1]) for b in batches] == [4, 4, 2]
  x, y = collect(data, batch_size=4, seed=1, stream=0, epoch=1, shuffle=False)
  assert x.shape == (10, side, side) and x.dtype == np.float32
  assert x.min() >= -1.0 and x.max() <= 1.0
  np.testing.assert_array_equal(y, labels)  # labels unchanged, in order without shuffling
  # Background is -1 (2x - 1); the digit's ink survives translation / clutter.
  assert np.isclose(np.median(x), -1.0)
  ink = images.astype(np.float32) / 255 * 2 - 1
  for i in range(10):  # translation moves ink, clutter only adds it
    assert (x[i] + 1).sum() >= (ink[i] + 1).sum() - 1e-2


def test_centered_is_the_normalised_digit():
  images, labels = digits(6)
  data = canvases.DigitCanvases(images, labels, 'centered')
  x, _ = collect(data, batch_size=6, seed=0, stream=0, epoch=3, shuffle=False)
  np.testing.assert_allclose(x, images / 255.0 * 2 - 1, atol=1e-6)


def test_translated_digit_lies_whole_inside_the_canvas():
  images, labels = digits(8)
  data = canvases.DigitCanvases(images, labels, 'translated', canvas_size=60)
  x, _ = collect(data, batch_size=8, seed=2, stream=0, epoch=1, shuffle=False)
  for i in range(8):
    rows, cols = np.nonzero(x[i] > -1)
    top, left = rows.min() - 4, cols.min() - 6  # the ink starts at (4, 6) inside the digit
    assert 0 <= top <= 32 and 0 <= left <= 32
    expected = images[i].astype(np.float32) / 255 * 2 - 1
    np.testing.assert_allclose(x[i, top:top + 28, left:left + 28], expected, atol=1e-6)


def test_epochs_redraw_canvases_and_order_deterministically():
  images, labels = digits(12)
  data = canvases.DigitCanvases(images, labels, 'cluttered', canvas_size=60)
  first, y1 = collect(data, batch_size=5, seed=3, stream=0, epoch=1, shuffle=True)
  again, y2 = collect(data, batch_size=5, seed=3, stream=0, epoch=1, shuffle=True)
  np.testing.assert_array_equal(first, again)
  np.testing.assert_array_equal(y1, y2)
  other, y3 = collect(data, batch_size=5, seed=3, stream=0, epoch=2, shuffle=True)
  assert not np.array_equal(first, other) and sorted(y3) == sorted(y1)
  test_stream, _ = collect(data, batch_size=5, seed=3, stream=1, epoch=1, shuffle=True)
  assert not np.array_equal(first, test_stream)


def test_resuming_inside_an_epoch_gives_the_same_batches():
  images, labels = digits(12)
  data = canvases.DigitCanvases(images, labels, 'cluttered', canvas_size=60)
  full = list(data.epoch(5, seed=4, stream=0, epoch=7, shuffle=True))
  resumed = list(data.epoch(5, seed=4, stream=0, epoch=7, shuffle=True, start=1))
  assert len(resumed) == 2
  for (x1, y1), (x2, y2) in zip(full[1:], resumed):
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)


def test_clutter_from_other_digits_option():
  images, labels = digits(4)
  sources = np.full((3, 28, 28), 255, np.uint8)  # all-ink sources: every piece is a full square
  data = canvases.DigitCanvases(images, labels, 'cluttered', canvas_size=60, num_pieces=2,
                                clutter_sources=sources)
  x, _ = collect(data, batch_size=4, seed=0, stream=0, epoch=1, shuffle=False)
  assert ((x == 1.0).sum(axis=(1, 2)) >= 64).all()  # at least one full 8x8 white piece each


def test_bad_input_is_rejected():
  images, labels = digits(3)
  with pytest.raises(ValueError, match='unknown canvas kind'):
    canvases.DigitCanvases(images, labels, 'rotated')
  with pytest.raises(ValueError, match='uint8'):
    canvases.DigitCanvases(images.astype(np.float32), labels, 'centered')
  with pytest.raises(ValueError, match='3 images but 2 labels'):
    canvases.DigitCanvases(images, labels[:2], 'centered')
  with pytest.raises(ValueError, match='smaller than the digits'):
    canvases.DigitCanvases(images, labels, 'translated', canvas_size=20)
