"""The differentiable neural dictionary (qihongl/dnd-lstm `model/DND.py`, spec 2).

Held in preallocated variables, one store per agent (`B` agents run side by
side): keys `[B, L, Dk]`, values `[B, L, Dv]`, `count [B]` and `position [B]`
(the next write slot). Reads and writes are the pure functions of
`common/kernels/nearest.py`, so a whole trial runs inside one `tf.function`.
Faithful defaults: exact 1-NN by the chosen kernel, FIFO eviction beyond the
capacity, stored keys and values detached (no gradient into the memory), an
empty store (or retrieval off) reads zeros.
"""
import collections

import tensorflow as tf

from common.kernels import nearest

# What one read returns: the value `[B, Dv]`, the slot it came from `[B]`, its
# similarity `[B]` (a negative distance for l2 / l1) and whether anything was found `[B]`.
Read = collections.namedtuple('Read', ('value', 'index', 'similarity', 'found'))


class DND(tf.Module):
  """Args:
    dict_len: L, the capacity of each store.
    key_dim: Dk (the input width: keys are the raw inputs x_t).
    memory_dim: Dv (the hidden width: values are cell states c_t).
    kernel: 'l2' (the original's default), 'l1' or 'cosine'.
    batch_size: B, independent stores (agents).
    dtype: tf.float32 or tf.float64.
  """

  def __init__(self, dict_len, key_dim, memory_dim, kernel='l2', batch_size=1,
               dtype=tf.float32, name='dnd'):
    super().__init__(name=name)
    if dict_len < 1:
      raise ValueError(f'dict_len={dict_len} must be >= 1')
    nearest.check_kernel(kernel)
    self.dict_len, self.kernel = dict_len, kernel
    self.keys = tf.Variable(tf.zeros([batch_size, dict_len, key_dim], dtype), trainable=False,
                            name='keys')
    self.vals = tf.Variable(tf.zeros([batch_size, dict_len, memory_dim], dtype),
                            trainable=False, name='vals')
    self.count = tf.Variable(tf.zeros([batch_size], tf.int32), trainable=False, name='count')
    self.position = tf.Variable(tf.zeros([batch_size], tf.int32), trainable=False,
                                name='position')

  def reset_memory(self):
    """Empties every store (the original flushes it at the start of each epoch)."""
    self.keys.assign(tf.zeros_like(self.keys))
    self.vals.assign(tf.zeros_like(self.vals))
    self.count.assign(tf.zeros_like(self.count))
    self.position.assign(tf.zeros_like(self.position))

  def get_memory(self, query, retrieval_on=True):
    """The value of the nearest stored key (`Read`); zeros where a store is empty
    or `retrieval_on` (a bool tensor `[]` or `[B]`) is False.

    Args:
      query: `[B, Dk]` (detached here, as the original does).
    """
    query = tf.stop_gradient(query)
    index, similarity, found = nearest.nearest(query, self.keys, self.count, self.position,
                                               self.kernel)
    found = found & tf.broadcast_to(tf.cast(retrieval_on, tf.bool), tf.shape(found))
    return Read(nearest.gather_values(self.vals, index, found), index, similarity, found)

  def save_memory(self, key, val, encoding_on=True):
    """Stores (key, val) where `encoding_on` (a bool tensor `[]` or `[B]`); detached.

    Args:
      key: `[B, Dk]`; val: `[B, Dv]`.
    """
    enabled = tf.broadcast_to(tf.cast(encoding_on, tf.bool), tf.shape(self.count))
    keys, vals, count, position = nearest.write(
        self.keys, self.vals, self.count, self.position, tf.stop_gradient(key),
        tf.stop_gradient(val), enabled)
    self.keys.assign(keys)
    self.vals.assign(vals)
    self.count.assign(count)
    self.position.assign(position)

  def get_all_mems(self):
    """(keys `[B, n, Dk]`, values `[B, n, Dv]`) of the stores in insertion order
    (all stores must hold the same count n, as they do in lock-step runs)."""
    count = int(self.count.numpy()[0])
    order = tf.argsort(nearest.insertion_order(self.count, self.position, self.dict_len),
                       axis=-1)[:, :count]
    return (tf.gather(self.keys, order, batch_dims=1), tf.gather(self.vals, order, batch_dims=1))
