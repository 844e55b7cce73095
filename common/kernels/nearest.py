"""Nearest-neighbour reads from a preallocated key-value store (a DND).

The store is a ring buffer per batch element: `keys [B, L, Dk]`, `values [B, L, Dv]`,
with `count [B]` slots in use and `position [B]`, the slot the next write goes
to. Slots are filled in order and, once all L are in use, the oldest is
overwritten first (FIFO), so the insertion order of slot `i` is
`(i - position) mod L` when the store is full and `i` otherwise.

Similarities follow PyTorch's functions, which qihongl/dnd-lstm uses:
- `'l2'`: `-||q - k + eps||_2` and `'l1'`: `-||q - k + eps||_1`, with eps = 1e-6
  added to every component of the difference (`torch.nn.functional.pairwise_distance`),
  so an exact match has distance `1e-6 * sqrt(Dk)` (l2), not 0;
- `'cosine'`: `q.k / (max(||q||, 1e-8) * max(||k||, 1e-8))`.

`nearest` is the original's 1-NN: the highest similarity, ties resolved as its
`argmax` over a Python list does, in favour of the oldest entry. `write` is its
FIFO eviction; `write_lru` and `touch` are NEC's least-recently-used eviction
(the slot that has gone longest without being read or written is overwritten
once the store is full). `knn_weights` is
NEC's kernel-weighted k-NN (Pritzel et al. 2017): the k nearest by L2 distance,
weighted by `1 / (d^2 + delta)` and normalised. Reads carry no gradient into the
store: callers pass `tf.stop_gradient` of what they store (the original detaches
keys and values).

Shapes: `B` batch (independent stores), `L` capacity, `Dk` key width, `Dv`
value width, `K` neighbours.
"""
import tensorflow as tf

KERNELS = ('l2', 'l1', 'cosine')
PAIRWISE_EPS = 1e-6   # torch.nn.functional.pairwise_distance's eps
COSINE_EPS = 1e-8     # torch.nn.functional.cosine_similarity's eps


def check_kernel(kernel):
  if kernel not in KERNELS:
    raise ValueError(f'unknown kernel {kernel!r}; choose one of: {", ".join(KERNELS)}')


def similarity(queries, keys, kernel='l2'):
  """Similarity of each query to every key of its own store.

  Args:
    queries: `[B, Dk]`, or `[B, T, Dk]` for T queries per store.
    keys: `[B, L, Dk]`.
    kernel: 'l2', 'l1' (negative distances) or 'cosine'.
  Returns:
    `[B, L]` (or `[B, T, L]`), larger is more similar.
  """
  check_kernel(kernel)
  many = queries.shape.rank == 3
  if kernel == 'cosine':
    dots = tf.einsum('btd,bld->btl' if many else 'bd,bld->bl', queries, keys)
    query_norm = tf.maximum(tf.norm(queries, axis=-1, keepdims=True), COSINE_EPS)  # [B, (T,) 1]
    key_norm = tf.maximum(tf.norm(keys, axis=-1), COSINE_EPS)                       # [B, L]
    return dots / (query_norm * (key_norm[:, None, :] if many else key_norm))
  if many:
    difference = queries[:, :, None, :] - keys[:, None, :, :] + PAIRWISE_EPS
  else:
    difference = queries[:, None, :] - keys + PAIRWISE_EPS
  if kernel == 'l1':
    return -tf.reduce_sum(tf.abs(difference), axis=-1)
  return -tf.sqrt(tf.reduce_sum(tf.square(difference), axis=-1))


def slots_in_use(count, capacity):
  """`[B, L]` bool: the slots that hold an entry (the first `count` ones).

  Args:
    count: `[B]` int, entries stored (0..L).
    capacity: L, a Python int.
  """
  return tf.range(capacity)[None, :] < tf.cast(count, tf.int32)[:, None]


def insertion_order(count, position, capacity):
  """`[B, L]` int32: 0 for the oldest entry, 1 for the next, ... (unused slots
  come after every used one).

  Args:
    count: `[B]` int, entries stored.
    position: `[B]` int, the slot the next write goes to.
    capacity: L, a Python int.
  """
  slots = tf.range(capacity)[None, :]
  count, position = tf.cast(count, tf.int32)[:, None], tf.cast(position, tf.int32)[:, None]
  full = count >= capacity
  # A full ring's oldest entry is at `position` (the next to be overwritten).
  return tf.where(full, tf.math.floormod(slots - position, capacity), slots)


def nearest(queries, keys, count, position, kernel='l2', order=None):
  """The original's 1-NN: the most similar stored key, the oldest on ties.

  Args:
    queries: `[B, Dk]`, or `[B, T, Dk]` for T queries per store.
    keys: `[B, L, Dk]`.
    count: `[B]` int, entries stored.
    position: `[B]` int, the next write slot (FIFO).
    kernel: see `similarity`.
    order: optional `[B, L]` int, smaller = written earlier (the write times of
      an LRU store, whose slots are not in ring order); default the FIFO ring's
      `insertion_order`.
  Returns:
    `(index [B(, T)] int32, best [B(, T)] similarity of that entry, found [B(, T)]
    bool)`; where nothing is stored, `found` is False, `index` 0 and `best` -inf.
  """
  capacity = keys.shape[1]
  many = queries.shape.rank == 3
  per_query = (lambda x: x[:, None]) if many else (lambda x: x)  # [B, ...] -> [B, (1,) ...]
  scores = similarity(queries, keys, kernel)                             # [B, (T,) L]
  used = per_query(slots_in_use(count, capacity))
  scores = tf.where(used, scores, tf.constant(float('-inf'), scores.dtype))
  best = tf.reduce_max(scores, axis=-1)                                  # [B, (T)]
  ties = used & tf.equal(scores, best[..., None])
  if order is None:
    order = insertion_order(count, position, capacity)
  order = per_query(tf.cast(order, tf.int64))
  order = tf.where(ties, order, tf.int64.max)      # only tied, used slots compete
  index = tf.argmin(order, axis=-1, output_type=tf.int32)
  found = tf.broadcast_to(per_query(tf.cast(count, tf.int32) > 0), tf.shape(index))
  return tf.where(found, index, 0), best, found


def gather_values(values, index, found):
  """The values at `index`, zeros where nothing was found (the original's empty read).

  Args:
    values: `[B, L, Dv]`.
    index: `[B]` (or `[B, T]`) int32.
    found: `[B]` (or `[B, T]`) bool.
  Returns:
    `[B, Dv]` (or `[B, T, Dv]`).
  """
  read = tf.gather(values, index, batch_dims=1)
  return tf.where(found[..., None], read, tf.zeros_like(read))


def knn_weights(queries, keys, count, k, delta=1e-3):
  """NEC's kernel-weighted k-NN: the k nearest keys by L2 and their weights.

  w_i = (1 / (||q - k_i||^2 + delta)) / sum_j (1 / (||q - k_j||^2 + delta)) over the
  k nearest stored keys (fewer if fewer are stored: the missing ones get weight 0).

  Args:
    queries: `[B, Dk]`, or `[B, T, Dk]` for T queries per store.
    keys: `[B, L, Dk]`.
    count: `[B]` int, entries stored.
    k: K, a Python int <= L.
    delta: the kernel's offset (NEC: 1e-3).
  Returns:
    `(indices [B, (T,) K] int32, weights [B, (T,) K])`; weights sum to 1 where
    anything is stored and are all 0 where nothing is.
  """
  capacity = keys.shape[1]
  if not 1 <= k <= capacity:
    raise ValueError(f'k={k} must be between 1 and the capacity {capacity}')
  if queries.shape.rank == 3:
    squared = tf.reduce_sum(tf.square(queries[:, :, None, :] - keys[:, None]), axis=-1)
    used = slots_in_use(count, capacity)[:, None]                          # [B, 1, L]
  else:
    squared = tf.reduce_sum(tf.square(queries[:, None, :] - keys), axis=-1)  # [B, L]
    used = slots_in_use(count, capacity)
  kernel = tf.where(used, 1.0 / (squared + delta), tf.zeros_like(squared))
  # Largest kernel = nearest; top_k keeps the lower index first on ties.
  top, indices = tf.math.top_k(kernel, k=k)
  total = tf.reduce_sum(top, axis=-1, keepdims=True)
  weights = tf.math.divide_no_nan(top, total)
  return indices, weights


def weighted_read(values, indices, weights):
  """`sum_i w_i v_i`: the kernel-weighted read of `knn_weights`.

  Args:
    values: `[B, L, Dv]`.
    indices: `[B, K]` (or `[B, T, K]`) int32.
    weights: `[B, K]` (or `[B, T, K]`).
  Returns:
    `[B, Dv]` (or `[B, T, Dv]`).
  """
  neighbours = tf.gather(values, indices, batch_dims=1)                     # [B, (T,) K, Dv]
  return tf.reduce_sum(weights[..., None] * neighbours, axis=-2)


def write(keys, values, count, position, new_key, new_value, enabled):
  """Appends one entry per store (FIFO: overwriting the oldest once full).

  Args:
    keys: `[B, L, Dk]`; values: `[B, L, Dv]`.
    count, position: `[B]` int32.
    new_key: `[B, Dk]`; new_value: `[B, Dv]` (pass them through `tf.stop_gradient`).
    enabled: `[B]` bool, which stores write (the original's `encoding_off` is False).
  Returns:
    `(keys, values, count, position)` after the write.
  """
  capacity = keys.shape[1]
  slot = tf.one_hot(position, capacity, on_value=True, off_value=False)   # [B, L]
  slot = slot & enabled[:, None]
  keys = tf.where(slot[:, :, None], new_key[:, None, :], keys)
  values = tf.where(slot[:, :, None], new_value[:, None, :], values)
  written = tf.cast(enabled, count.dtype)
  count = tf.minimum(count + written, capacity)
  position = tf.math.floormod(position + written, capacity)
  return keys, values, count, position


def write_lru(keys, values, count, last_used, new_key, new_value, enabled, clock):
  """Appends one entry per store, overwriting the least recently used once full.

  Args:
    keys: `[B, L, Dk]`; values: `[B, L, Dv]`.
    count: `[B]` int32, entries stored.
    last_used: `[B, L]` int, when each slot was last written or read (`touch`).
    new_key: `[B, Dk]`; new_value: `[B, Dv]` (pass them through `tf.stop_gradient`).
    enabled: `[B]` bool, which stores write.
    clock: `[B]` int, the current time (larger than every `last_used`).
  Returns:
    `(keys, values, count, last_used, slot [B] int32)` after the write; `slot`
    is where each store wrote (meaningless where not enabled).
  """
  capacity = keys.shape[1]
  used = slots_in_use(count, capacity)
  stale = tf.where(used, tf.cast(last_used, tf.int64), tf.int64.min)  # free slots first
  oldest = tf.argmin(stale, axis=-1, output_type=tf.int32)            # lowest index on ties
  slot = tf.where(tf.cast(count, tf.int32) < capacity, tf.cast(count, tf.int32), oldest)
  mask = tf.one_hot(slot, capacity, on_value=True, off_value=False) & enabled[:, None]
  keys = tf.where(mask[:, :, None], new_key[:, None, :], keys)
  values = tf.where(mask[:, :, None], new_value[:, None, :], values)
  last_used = tf.where(mask, tf.cast(clock, last_used.dtype)[:, None], last_used)
  count = tf.minimum(count + tf.cast(enabled, count.dtype), capacity)
  return keys, values, count, last_used, slot


def touch(last_used, indices, mask, clock):
  """Marks the slots a read used as used now (for `write_lru`).

  Args:
    last_used: `[B, L]` int.
    indices: `[B, K]` int32, the slots read.
    mask: `[B, K]` bool, which of them count (found, or a nonzero weight).
    clock: `[B]` int, the current time.
  Returns:
    `[B, L]` the updated `last_used`.
  """
  capacity = last_used.shape[1]
  hit = tf.reduce_any(tf.one_hot(indices, capacity, on_value=True, off_value=False)
                      & mask[:, :, None], axis=1)                      # [B, L]
  return tf.where(hit, tf.cast(clock, last_used.dtype)[:, None], last_used)


def search(queries, keys, count, k=1, kernel='l2', block=65536):
  """Many queries against one large store: the k most similar used keys of each.

  For stores too large for `similarity`'s per-store difference tensor
  (`[B, L, Dk]`): scores come from matrix products, blockwise over the store,
  so memory is O(Q x block). l2 and l1 keep PyTorch's eps: for l2,
  ||q - k + eps||^2 = ||q||^2 + ||k||^2 - 2 q.k + 2 eps (sum q - sum k) + Dk eps^2
  (the same value as `similarity`, rounded differently); l1 has no product form
  and is computed directly, block by block. Ties go to the lower slot.

  Args:
    queries: `[Q, Dk]`.
    keys: `[L, Dk]`, one store shared by every query.
    count: scalar int, the used slots (the first `count`).
    k: neighbours per query (<= L).
    kernel: 'l2', 'l1' or 'cosine'.
    block: keys scored at a time.
  Returns:
    `(indices [Q, k] int32, similarities [Q, k])`, most similar first; slots past
    `count` score -inf.
  """
  check_kernel(kernel)
  capacity, depth = keys.shape[0], keys.shape[1]
  if not 1 <= k <= capacity:
    raise ValueError(f'k={k} must be between 1 and the capacity {capacity}')
  dtype = queries.dtype
  q_sq = tf.reduce_sum(tf.square(queries), axis=-1, keepdims=True)       # [Q, 1]
  q_sum = tf.reduce_sum(queries, axis=-1, keepdims=True)
  q_norm = tf.maximum(tf.sqrt(q_sq), COSINE_EPS)
  best_scores, best_indices = None, None
  for start in range(0, capacity, block):  # static: the store's size is known
    part = keys[start:start + block]                                      # [b, Dk]
    slots = tf.range(start, start + part.shape[0])
    if kernel == 'l1':
      scores = -tf.reduce_sum(tf.abs(queries[:, None, :] - part[None] + PAIRWISE_EPS), axis=-1)
    else:
      dots = tf.matmul(queries, part, transpose_b=True)                   # [Q, b]
      if kernel == 'cosine':
        k_norm = tf.maximum(tf.norm(part, axis=-1), COSINE_EPS)
        scores = dots / (q_norm * k_norm[None, :])
      else:
        k_sq = tf.reduce_sum(tf.square(part), axis=-1)[None, :]
        k_sum = tf.reduce_sum(part, axis=-1)[None, :]
        squared = (q_sq + k_sq - 2.0 * dots + 2.0 * PAIRWISE_EPS * (q_sum - k_sum)
                   + depth * PAIRWISE_EPS ** 2)
        scores = -tf.sqrt(tf.maximum(squared, 0.0))
    scores = tf.where(slots[None, :] < tf.cast(count, tf.int32), scores,
                      tf.constant(float('-inf'), dtype))
    top, index = tf.math.top_k(scores, k=min(k, part.shape[0]))
    index = index + start
    if best_scores is None:
      best_scores, best_indices = top, index
    else:  # merge: earlier blocks first, so top_k keeps the lower slot on ties
      joined = tf.concat([best_scores, top], axis=1)
      merged, position = tf.math.top_k(joined, k=min(k, joined.shape[1]))
      best_indices = tf.gather(tf.concat([best_indices, index], axis=1), position, batch_dims=1)
      best_scores = merged
  return best_indices, best_scores
