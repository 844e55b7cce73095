"""The differentiable neural dictionary (qihongl/dnd-lstm `model/DND.py`, spec 2).

Held in preallocated variables, one store per agent (`B` agents run side by
side): keys `[B, L, Dk]`, values `[B, L, Dv]`, `count [B]`, `position [B]` (the
next FIFO write slot) and, per slot, when it was written and last used (clock
ticks of that store). Reads and writes are the pure functions of
`common/kernels/nearest.py`, so a whole trial runs inside one `tf.function`.

Faithful defaults: exact 1-NN by the chosen kernel, FIFO eviction beyond the
capacity, stored keys and values detached (no gradient into the memory), an
empty store (or retrieval off) reads zeros. Options beyond the original (spec
8.2): NEC's kernel-weighted k-NN read (`policy='kNN'`, `k`, `delta`) and
least-recently-used eviction (`eviction='LRU'`).
"""
import collections

import tensorflow as tf

from common.kernels import nearest

POLICIES = ('1NN', 'kNN')
EVICTIONS = ('FIFO', 'LRU')

# What one read returns: the value `[B, Dv]`, the slot of the nearest entry `[B]`,
# its similarity `[B]` (a negative distance for l2 / l1; -inf where nothing was
# found) and whether anything was found `[B]`.
Read = collections.namedtuple('Read', ('value', 'index', 'similarity', 'found'))


def check_choice(name, value, allowed):
  if value not in allowed:
    raise ValueError(f'unknown {name} {value!r}; choose one of: {", ".join(allowed)}')


class DND(tf.Module):
  """Args:
    dict_len: L, the capacity of each store.
    key_dim: Dk (the input width: keys are the raw inputs x_t).
    memory_dim: Dv (the hidden width: values are cell states c_t).
    kernel: 'l2' (the original's default), 'l1' or 'cosine'.
    batch_size: B, independent stores (agents).
    dtype: tf.float32 or tf.float64.
    policy: '1NN' (the original) or 'kNN' (NEC: the `k` nearest by L2, weighted
      by 1 / (d^2 + delta); `kernel` then only names the reported similarity).
    eviction: 'FIFO' (the original: the oldest entry goes) or 'LRU' (the one
      longest without a read or write goes).
  """

  def __init__(self, dict_len, key_dim, memory_dim, kernel='l2', batch_size=1,
               dtype=tf.float32, policy='1NN', k=1, delta=1e-3, eviction='FIFO', name='dnd'):
    super().__init__(name=name)
    if dict_len < 1:
      raise ValueError(f'dict_len={dict_len} must be >= 1')
    nearest.check_kernel(kernel)
    check_choice('retrieval policy', policy, POLICIES)
    check_choice('eviction', eviction, EVICTIONS)
    if policy == 'kNN' and not 1 <= k <= dict_len:
      raise ValueError(f'k={k} must be between 1 and dict_len={dict_len}')
    self.dict_len, self.kernel, self.policy, self.eviction = dict_len, kernel, policy, eviction
    self.k, self.delta = k, delta
    zeros = lambda shape, dtype_, name_: tf.Variable(tf.zeros(shape, dtype_), trainable=False,
                                                     name=name_)
    self.keys = zeros([batch_size, dict_len, key_dim], dtype, 'keys')
    self.vals = zeros([batch_size, dict_len, memory_dim], dtype, 'vals')
    self.count = zeros([batch_size], tf.int32, 'count')
    self.position = zeros([batch_size], tf.int32, 'position')
    self.written_at = zeros([batch_size, dict_len], tf.int64, 'written_at')
    self.last_used = zeros([batch_size, dict_len], tf.int64, 'last_used')
    self.clock = zeros([batch_size], tf.int64, 'clock')

  def reset_memory(self):
    """Empties every store (the original flushes it at the start of each epoch)."""
    for variable in (self.keys, self.vals, self.count, self.position, self.written_at,
                     self.last_used, self.clock):
      variable.assign(tf.zeros_like(variable))

  def _tick(self, enabled):
    now = self.clock + 1
    self.clock.assign(tf.where(enabled, now, self.clock))
    return now

  def get_memory(self, query, retrieval_on=True):
    """The value of the nearest stored key (`Read`); zeros where a store is empty
    or `retrieval_on` (a bool tensor `[]` or `[B]`) is False.

    Args:
      query: `[B, Dk]` (detached, as the original does).
    """
    read = self.get_memories(query[:, None, :], retrieval_on)
    return Read(*(field[:, 0] for field in read))

  def get_memories(self, queries, retrieval_on=True):
    """`get_memory` for T queries at once, as T reads in order with no write in
    between (a trial's reads all come before its one write, at its last step):
    the same reads, LRU use times included, in a few large ops instead of T
    rounds of small ones.

    Args:
      queries: `[B, T, Dk]`.
    Returns:
      `Read` with value `[B, T, Dv]` and index, similarity, found `[B, T]`.
    """
    queries = tf.stop_gradient(queries)
    order = self.written_at if self.eviction == 'LRU' else None
    index, similarity, found = nearest.nearest(queries, self.keys, self.count, self.position,
                                               self.kernel, order=order)
    on = tf.cast(retrieval_on, tf.bool)
    found = found & (on[:, None] if on.shape.rank == 1 else on)    # [B] per agent, or []
    if self.policy == '1NN':
      value = nearest.gather_values(self.vals, index, found)
      used, used_mask = index[..., None], found[..., None]           # [B, T, 1]
    else:
      indices, weights = nearest.knn_weights(queries, self.keys, self.count, self.k, self.delta)
      weights = tf.where(found[..., None], weights, tf.zeros_like(weights))
      value = nearest.weighted_read(self.vals, indices, weights)
      used, used_mask = indices, weights > 0                         # [B, T, K]
    if self.eviction == 'LRU':  # step t's read happens at tick clock + (reads found up to t)
      ticks = self.clock[:, None] + tf.cumsum(tf.cast(found, tf.int64), axis=1)   # [B, T]
      hit = tf.reduce_any(tf.one_hot(used, self.dict_len, on_value=True, off_value=False)
                          & used_mask[..., None], axis=2)                       # [B, T, L]
      latest = tf.reduce_max(tf.where(hit, ticks[:, :, None], tf.int64.min), axis=1)
      self.last_used.assign(tf.where(tf.reduce_any(hit, axis=1), latest, self.last_used))
      self.clock.assign(ticks[:, -1])
    similarity = tf.where(found, similarity, tf.constant(float('-inf'), similarity.dtype))
    return Read(value, index, similarity, found)

  def save_memory(self, key, val, encoding_on=True):
    """Stores (key, val) where `encoding_on` (a bool tensor `[]` or `[B]`); detached.

    Args:
      key: `[B, Dk]`; val: `[B, Dv]`.
    """
    enabled = tf.broadcast_to(tf.cast(encoding_on, tf.bool), tf.shape(self.count))
    key, val = tf.stop_gradient(key), tf.stop_gradient(val)
    now = self._tick(enabled)
    if self.eviction == 'FIFO':
      slot = self.position.read_value()
      keys, vals, count, position = nearest.write(self.keys, self.vals, self.count,
                                                  self.position, key, val, enabled)
      self.position.assign(position)
    else:
      keys, vals, count, last_used, slot = nearest.write_lru(
          self.keys, self.vals, self.count, self.last_used, key, val, enabled, now)
      self.last_used.assign(last_used)
    written = tf.one_hot(slot, self.dict_len, on_value=True, off_value=False) & enabled[:, None]
    self.written_at.assign(tf.where(written, now[:, None], self.written_at))
    self.keys.assign(keys)
    self.vals.assign(vals)
    self.count.assign(count)

  def get_all_mems(self):
    """(keys `[B, n, Dk]`, values `[B, n, Dv]`) of the stores in insertion order
    (all stores must hold the same count n, as they do in lock-step runs)."""
    counts = self.count.numpy()
    if len(set(counts.tolist())) != 1:
      raise ValueError(f'the stores hold different counts {counts.tolist()}')
    used = nearest.slots_in_use(self.count, self.dict_len)
    when = tf.where(used, self.written_at, tf.int64.max)
    order = tf.argsort(when, axis=-1, stable=True)[:, :int(counts[0])]
    return (tf.gather(self.keys, order, batch_dims=1), tf.gather(self.vals, order, batch_dims=1))
