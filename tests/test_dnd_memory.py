"""dnd_lstm/model/dnd.py: the DND module (store, flags, flush, insertion order)."""
import numpy as np
import pytest
import tensorflow as tf

from dnd_lstm.model.dnd import DND


def test_write_read_flags_and_flush():
  dnd = DND(dict_len=3, key_dim=2, memory_dim=2, batch_size=2)
  empty = dnd.get_memory(tf.ones([2, 2]))
  assert not empty.found.numpy().any() and np.all(empty.value.numpy() == 0)
  dnd.save_memory(tf.constant([[0., 0.], [1., 1.]]), tf.constant([[5., 5.], [6., 6.]]))
  dnd.save_memory(tf.constant([[9., 9.], [9., 9.]]), tf.constant([[7., 7.], [8., 8.]]),
                  encoding_on=tf.constant([True, False]))
  read = dnd.get_memory(tf.constant([[8., 8.], [0., 0.]]))
  assert read.value.numpy().tolist() == [[7., 7.], [6., 6.]]
  assert read.index.numpy().tolist() == [1, 0] and dnd.count.numpy().tolist() == [2, 1]
  off = dnd.get_memory(tf.constant([[8., 8.], [0., 0.]]), retrieval_on=False)
  assert np.all(off.value.numpy() == 0)
  dnd.reset_memory()
  assert dnd.count.numpy().tolist() == [0, 0]
  assert not dnd.get_memory(tf.ones([2, 2])).found.numpy().any()


def test_fifo_eviction_and_insertion_order():
  dnd = DND(dict_len=3, key_dim=1, memory_dim=1)
  for k in range(5):
    dnd.save_memory(tf.constant([[float(k)]]), tf.constant([[10. + k]]))
  keys, vals = dnd.get_all_mems()
  assert keys.numpy()[0, :, 0].tolist() == [2., 3., 4.]   # the two oldest evicted
  assert vals.numpy()[0, :, 0].tolist() == [12., 13., 14.]


def test_no_gradient_into_the_store():
  dnd = DND(dict_len=2, key_dim=2, memory_dim=2)
  x = tf.Variable([[1., 2.]])
  with tf.GradientTape() as tape:
    dnd.save_memory(x, 3.0 * x)
    out = tf.reduce_sum(dnd.get_memory(x).value)
  assert tape.gradient(out, x) is None


def test_runs_inside_tf_function():
  dnd = DND(dict_len=4, key_dim=2, memory_dim=2)

  @tf.function
  def step(key, value, encode):
    read = dnd.get_memory(key)
    dnd.save_memory(key, value, encode)
    return read.value
  assert np.all(step(tf.ones([1, 2]), tf.ones([1, 2]), tf.constant(True)).numpy() == 0)
  assert np.all(step(tf.ones([1, 2]), 2 * tf.ones([1, 2]), tf.constant(False)).numpy() == 1)
  assert dnd.count.numpy().tolist() == [1]


def test_bad_arguments():
  with pytest.raises(ValueError, match='dict_len=0'):
    DND(0, 2, 2)
  with pytest.raises(ValueError, match='kernel'):
    DND(2, 2, 2, kernel='dot')


class ListLRU:
  """A reference LRU store: a dict slot -> (key, value, last used)."""

  def __init__(self, capacity):
    self.capacity, self.slots, self.clock = capacity, {}, 0

  def save(self, key, value):
    self.clock += 1
    if len(self.slots) < self.capacity:
      slot = len(self.slots)
    else:
      slot = min(self.slots, key=lambda s: (self.slots[s][2], s))
    self.slots[slot] = (key, value, self.clock)
    return slot

  def get(self, query):
    if not self.slots:
      return None
    self.clock += 1
    slot = min(self.slots, key=lambda s: (np.linalg.norm(query - self.slots[s][0] + 1e-6),
                                          self.slots[s][2]))
    key, value, _ = self.slots[slot]
    self.slots[slot] = (key, value, self.clock)
    return value


def test_lru_eviction_matches_a_reference_and_differs_from_fifo():
  rng = np.random.default_rng(0)
  dnd = DND(dict_len=3, key_dim=2, memory_dim=1, eviction='LRU', dtype=tf.float64)
  reference = ListLRU(3)
  for step in range(40):
    if rng.random() < 0.5:
      key, value = rng.normal(size=2), rng.normal(size=1)
      dnd.save_memory(tf.constant(key[None]), tf.constant(value[None]))
      reference.save(key, value)
    else:
      query = rng.normal(size=2)
      read = dnd.get_memory(tf.constant(query[None]))
      expected = reference.get(query)
      if expected is None:
        assert not read.found.numpy()[0]
      else:
        np.testing.assert_array_equal(read.value.numpy()[0], expected)
  # A store kept in use keeps its first entry under LRU; FIFO drops it.
  for eviction, survives in (('LRU', True), ('FIFO', False)):
    store = DND(dict_len=2, key_dim=1, memory_dim=1, eviction=eviction)
    store.save_memory(tf.constant([[0.]]), tf.constant([[10.]]))
    store.save_memory(tf.constant([[5.]]), tf.constant([[15.]]))
    store.get_memory(tf.constant([[0.1]]))                # uses entry 0
    store.save_memory(tf.constant([[9.]]), tf.constant([[19.]]))
    keys, _ = store.get_all_mems()
    assert (0. in keys.numpy()[0, :, 0].tolist()) == survives
    assert keys.numpy()[0, -1, 0] == 9.                   # insertion order: newest last


def test_knn_policy_reads_the_kernel_weighted_values():
  dnd = DND(dict_len=4, key_dim=1, memory_dim=1, policy='kNN', k=2, delta=1e-3,
            dtype=tf.float64)
  for key, value in ((0., 1.), (1., 3.), (5., 100.)):
    dnd.save_memory(tf.constant([[key]], tf.float64), tf.constant([[value]], tf.float64))
  read = dnd.get_memory(tf.constant([[0.25]], tf.float64))
  w = np.array([1 / (0.25 ** 2 + 1e-3), 1 / (0.75 ** 2 + 1e-3)])
  np.testing.assert_allclose(read.value.numpy()[0, 0], (w / w.sum()) @ [1., 3.], rtol=1e-12)
  assert int(read.index.numpy()[0]) == 0                  # the nearest, for the trace
  off = dnd.get_memory(tf.constant([[0.25]], tf.float64), retrieval_on=False)
  assert off.value.numpy()[0, 0] == 0 and not off.found.numpy()[0]
  with pytest.raises(ValueError, match='k=5'):
    DND(4, 1, 1, policy='kNN', k=5)
  with pytest.raises(ValueError, match='policy'):
    DND(4, 1, 1, policy='3NN')
  with pytest.raises(ValueError, match='eviction'):
    DND(4, 1, 1, eviction='random')


def test_large_capacity_store():
  dnd = DND(dict_len=100000, key_dim=64, memory_dim=32)
  keys = tf.random.stateless_normal([1, 64], seed=[1, 2])
  dnd.save_memory(keys, tf.ones([1, 32]))
  read = dnd.get_memory(keys)
  assert read.found.numpy()[0] and int(read.index.numpy()[0]) == 0


@pytest.mark.parametrize('options', [dict(), dict(kernel='cosine'), dict(policy='kNN', k=2),
                                     dict(eviction='LRU'), dict(policy='kNN', k=3, eviction='LRU')])
def test_reads_at_once_equal_reads_in_turn(options):
  """A trial's T reads done together (get_memories) equal T get_memory calls,
  LRU use times and the clock included."""
  rng = np.random.default_rng(4)
  stores = [DND(dict_len=4, key_dim=3, memory_dim=2, batch_size=2, dtype=tf.float64, **options)
            for _ in range(2)]
  for _ in range(5):
    key, value = tf.constant(rng.normal(size=(2, 3))), tf.constant(rng.normal(size=(2, 2)))
    for store in stores:
      store.save_memory(key, value)
  queries = rng.normal(size=(2, 6, 3))
  on = tf.constant([True, False])
  together = stores[0].get_memories(tf.constant(queries), on)
  for t in range(6):
    one = stores[1].get_memory(tf.constant(queries[:, t]), on)
    for name in ('value', 'index', 'similarity', 'found'):
      np.testing.assert_array_equal(getattr(together, name).numpy()[:, t],
                                    getattr(one, name).numpy(), err_msg=name)
  for name in ('last_used', 'clock', 'written_at', 'count'):
    np.testing.assert_array_equal(getattr(stores[0], name).numpy(),
                                  getattr(stores[1], name).numpy(), err_msg=name)
