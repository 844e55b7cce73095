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
