"""common/kernels/nearest.py against numpy brute force and a Python-list DND."""
import numpy as np
import pytest
import tensorflow as tf
from kernel_testing import assert_close, max_jacobian_error

from common.kernels import nearest

EPS = nearest.PAIRWISE_EPS


def np_similarity(query, keys, kernel):
  """The original's compute_similarities for one query `[Dk]` and keys `[n, Dk]`."""
  if kernel == 'cosine':
    norms = np.maximum(np.linalg.norm(query), 1e-8) * np.maximum(np.linalg.norm(keys, axis=1), 1e-8)
    return keys @ query / norms
  difference = query[None, :] - keys + EPS
  if kernel == 'l1':
    return -np.abs(difference).sum(axis=1)
  return -np.sqrt((difference ** 2).sum(axis=1))


class ListDND:
  """The original's store: Python lists, append, pop(0) beyond capacity, argmax."""

  def __init__(self, capacity):
    self.capacity, self.keys, self.vals = capacity, [], []

  def save(self, key, val):
    self.keys.append(key)
    self.vals.append(val)
    if len(self.keys) > self.capacity:
      self.keys.pop(0)
      self.vals.pop(0)

  def get(self, query, kernel, value_dim):
    if not self.keys:
      return np.zeros(value_dim), None
    j = int(np.argmax(np_similarity(query, np.stack(self.keys), kernel)))  # first maximal
    return self.vals[j], j


@pytest.mark.parametrize('kernel', nearest.KERNELS)
@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_similarity_matches_numpy(kernel, dtype):
  rng = np.random.default_rng(0)
  queries, keys = rng.normal(size=(3, 5)).astype(dtype), rng.normal(size=(3, 7, 5)).astype(dtype)
  got = nearest.similarity(tf.constant(queries), tf.constant(keys), kernel).numpy()
  assert got.dtype == dtype
  for b in range(3):
    assert_close(got[b], np_similarity(queries[b].astype(np.float64), keys[b].astype(np.float64),
                                       kernel), rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_exact_match_keeps_pytorchs_eps():
  key = np.zeros((1, 1, 64), np.float32)
  got = nearest.similarity(tf.constant(key[:, 0]), tf.constant(key), 'l2').numpy()
  assert_close(got[0, 0], -1e-6 * 8.0, rtol=1e-5, atol=0)
  cosine = nearest.similarity(tf.zeros([1, 4]), tf.zeros([1, 2, 4]), 'cosine').numpy()
  assert np.all(cosine == 0.0)  # the norms are clamped, not divided by zero


def test_unknown_kernel():
  with pytest.raises(ValueError, match='choose one of: l2, l1, cosine'):
    nearest.similarity(tf.zeros([1, 2]), tf.zeros([1, 3, 2]), 'dot')


def run_against_list(kernel, capacity, writes, duplicates=False, seed=0, jit=False):
  """Interleaved writes and reads through the kernels and through ListDND."""
  rng = np.random.default_rng(seed)
  batch, key_dim, value_dim = 2, 4, 3
  stores = [ListDND(capacity) for _ in range(batch)]
  keys = tf.zeros([batch, capacity, key_dim])
  values = tf.zeros([batch, capacity, value_dim])
  count = tf.zeros([batch], tf.int32)
  position = tf.zeros([batch], tf.int32)
  pool = rng.normal(size=(3, key_dim)).astype(np.float32)  # few distinct keys: ties
  read = tf.function(lambda q, k, v, c, p: _read(q, k, v, c, p, kernel), jit_compile=jit)
  write = tf.function(nearest.write, jit_compile=jit)
  for step in range(writes):
    query = (pool[rng.integers(3, size=batch)] if duplicates
             else rng.normal(size=(batch, key_dim)).astype(np.float32))
    got_value, got_index, got_found = [x.numpy() for x in read(tf.constant(query), keys, values,
                                                               count, position)]
    for b in range(batch):
      expected, j = stores[b].get(query[b], kernel, value_dim)
      assert got_found[b] == (j is not None)
      assert_close(got_value[b], expected, rtol=0, atol=0)
    new_key = (pool[rng.integers(3, size=batch)] if duplicates
               else rng.normal(size=(batch, key_dim)).astype(np.float32))
    new_value = rng.normal(size=(batch, value_dim)).astype(np.float32)
    enabled = rng.random(batch) < 0.8
    keys, values, count, position = write(keys, values, count, position, tf.constant(new_key),
                                          tf.constant(new_value), tf.constant(enabled))
    for b in range(batch):
      if enabled[b]:
        stores[b].save(new_key[b], new_value[b])
  return keys, values, count, position, stores


def _read(queries, keys, values, count, position, kernel):
  index, _, found = nearest.nearest(queries, keys, count, position, kernel)
  return nearest.gather_values(values, index, found), index, found


@pytest.mark.parametrize('kernel', nearest.KERNELS)
def test_nearest_matches_the_list_dnd(kernel):
  run_against_list(kernel, capacity=5, writes=14)  # wraps around twice


@pytest.mark.parametrize('kernel', nearest.KERNELS)
def test_ties_go_to_the_oldest_entry_also_after_wrapping(kernel):
  run_against_list(kernel, capacity=4, writes=20, duplicates=True)


def test_under_xla():
  run_against_list('l2', capacity=4, writes=9, jit=True)


def test_insertion_order_of_a_wrapped_ring():
  order = nearest.insertion_order(tf.constant([5, 3]), tf.constant([2, 3]), 5).numpy()
  assert order.tolist() == [[3, 4, 0, 1, 2], [0, 1, 2, 3, 4]]


def test_empty_store_reads_zeros():
  values = tf.ones([2, 3, 4])
  index, best, found = nearest.nearest(tf.ones([2, 2]), tf.ones([2, 3, 2]), tf.constant([0, 1]),
                                       tf.constant([0, 1]))
  assert found.numpy().tolist() == [False, True] and np.isneginf(best.numpy()[0])
  read = nearest.gather_values(values, index, found).numpy()
  assert np.all(read[0] == 0) and np.all(read[1] == 1)


def np_knn(query, keys, k, delta):
  squared = ((query[None] - keys) ** 2).sum(axis=1)
  order = np.argsort(squared, kind='stable')[:k]
  weights = 1.0 / (squared[order] + delta)
  return order, weights / weights.sum()


def test_knn_weights_match_numpy():
  rng = np.random.default_rng(1)
  queries, keys = rng.normal(size=(2, 4)), rng.normal(size=(2, 9, 4))
  count = np.array([9, 6])
  indices, weights = nearest.knn_weights(tf.constant(queries), tf.constant(keys),
                                         tf.constant(count), k=4, delta=1e-3)
  for b in range(2):
    order, expected = np_knn(queries[b], keys[b, :count[b]], 4, 1e-3)
    assert indices.numpy()[b].tolist() == order.tolist()
    assert_close(weights.numpy()[b], expected, rtol=1e-10)


def test_knn_with_fewer_entries_than_k():
  indices, weights = nearest.knn_weights(tf.zeros([2, 3]), tf.ones([2, 5, 3]), tf.constant([2, 0]),
                                         k=4)
  w = weights.numpy()
  assert_close(w[0].sum(), 1.0) and np.count_nonzero(w[0]) == 2
  assert np.all(w[1] == 0)
  assert set(indices.numpy()[0][:2]) == {0, 1}
  with pytest.raises(ValueError, match='k=6'):
    nearest.knn_weights(tf.zeros([1, 3]), tf.ones([1, 5, 3]), tf.constant([5]), k=6)


def test_weighted_read_gradient_reaches_the_query_only():
  rng = np.random.default_rng(2)
  keys, values = rng.normal(size=(1, 6, 3)), rng.normal(size=(1, 6, 2))

  def read(query):
    indices, weights = nearest.knn_weights(query, tf.constant(keys), tf.constant([6]), k=3)
    return nearest.weighted_read(tf.constant(values), indices, weights)
  assert max_jacobian_error(read, [rng.normal(size=(1, 3))]) < 1e-6
  query = tf.Variable(rng.normal(size=(1, 3)))
  stored = tf.Variable(keys)
  with tf.GradientTape() as tape:
    indices, weights = nearest.knn_weights(query, tf.stop_gradient(stored), tf.constant([6]), k=3)
    out = tf.reduce_sum(nearest.weighted_read(tf.constant(values), indices, weights))
  grad_query, grad_keys = tape.gradient(out, [query, stored])
  assert grad_keys is None and np.any(grad_query.numpy() != 0)


@pytest.mark.parametrize('kernel', ['l2', 'l1', 'cosine'])
def test_search_matches_brute_force_blockwise(kernel):
  rng = np.random.default_rng(11)
  queries, keys = rng.normal(size=(5, 8)), rng.normal(size=(37, 8))
  count = 30
  for block in (7, 64):
    indices, scores = nearest.search(tf.constant(queries), tf.constant(keys), count, k=4,
                                     kernel=kernel, block=block)
    for q in range(5):
      expected = np_similarity(queries[q], keys[:count], kernel)
      order = np.argsort(-expected, kind='stable')[:4]
      assert indices.numpy()[q].tolist() == order.tolist()
      np.testing.assert_allclose(scores.numpy()[q], expected[order], rtol=1e-9, atol=1e-9)
  # Against `nearest`, per query (a store of its own): the same 1-NN.
  best, _, _ = nearest.nearest(tf.constant(queries), tf.constant(np.stack([keys] * 5)),
                               tf.fill([5], count), tf.fill([5], count), kernel)
  one, _ = nearest.search(tf.constant(queries), tf.constant(keys), count, k=1, kernel=kernel,
                          block=10)
  assert one.numpy()[:, 0].tolist() == best.numpy().tolist()


def test_search_small_blocks_and_bad_k():
  keys = tf.constant(np.arange(20.0).reshape(10, 2))
  indices, _ = nearest.search(tf.constant([[4.0, 5.0]], tf.float64), keys, 10, k=6, block=2)
  assert sorted(indices.numpy()[0].tolist()) == [0, 1, 2, 3, 4, 5] and indices.numpy()[0, 0] == 2
  with pytest.raises(ValueError, match='k=11'):
    nearest.search(tf.constant([[0.0, 0.0]], tf.float64), keys, 10, k=11)
