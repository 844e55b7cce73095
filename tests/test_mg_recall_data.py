"""multigrid_memory/mnist_recall/data.py: the recall batches of spec 4.2."""
import json
import random

import numpy as np
import pytest

from multigrid_memory.mnist_recall.data import RecallData


def fake_set(n=700):
  images = np.arange(n, dtype=np.int64)[:, None, None] * np.ones((1, 28, 28), np.int64)
  return (images % 256).astype(np.uint8), np.arange(n) % 10


def make(n=700, seed=0, **kwargs):
  images, labels = fake_set(n)
  return RecallData(images, labels, numpy_rng=np.random.RandomState(seed),
                    python_rng=random.Random(seed), **kwargs), images, labels


def test_first_pass_in_file_order_time_major_and_the_query_target():
  data, images, labels = make()
  batch = data.next_batch()
  assert batch.images.shape == (320, 28, 28, 1) and batch.images.dtype == np.float32
  np.testing.assert_array_equal(batch.images[:, 0, 0, 0], np.arange(320) % 256)  # file order
  assert 0 <= batch.k <= 8 and batch.query.shape == (32, 28, 28, 1)
  # Row t*B + b is step t of sequence b; the query is the image at step k itself.
  np.testing.assert_array_equal(batch.query, batch.images[batch.k * 32:(batch.k + 1) * 32])
  np.testing.assert_array_equal(batch.target, labels[(batch.k + 1) * 32:(batch.k + 2) * 32])
  second = data.next_batch()
  np.testing.assert_array_equal(second.images[:, 0, 0, 0], np.arange(320, 640) % 256)


def test_permutation_when_the_set_is_exhausted_and_k_range():
  data, _, labels = make(n=700)
  data.next_batch()
  data.next_batch()                     # 640 used: 60 left < 320
  third = data.next_batch()
  assert data.cursor == 320 and not np.array_equal(data.order, np.arange(700))
  assert sorted(data.order.tolist()) == list(range(700))
  ks = {data.next_batch().k for _ in range(200)}
  assert ks == set(range(9))           # randint(0, T-2) inclusive
  del third


def test_state_round_trip_continues_the_same_stream():
  data, _, _ = make()
  for _ in range(3):
    data.next_batch()
  saved = json.loads(json.dumps(data.state()))  # it goes into checkpoints as JSON
  expected = [data.next_batch() for _ in range(3)]
  again, _, _ = make(seed=99)
  again.set_state(saved)
  for a, b in zip(expected, [again.next_batch() for _ in range(3)]):
    np.testing.assert_array_equal(a.images, b.images)
    assert a.k == b.k


def test_bad_sizes():
  images, labels = fake_set(100)
  with pytest.raises(ValueError, match='320 images per batch, but the set has only 100'):
    RecallData(images, labels)
  with pytest.raises(ValueError, match='seq_len=1'):
    RecallData(images, labels, seq_len=1)
