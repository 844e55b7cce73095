"""Reading and writing an external memory matrix (shared by NTM and DNC).

Shapes: `B` batch, `h` write heads, `R` read heads, `N` slots, `W` word width.
"""
import tensorflow as tf


def product_over_heads(values):
  """Product over axis 1 (heads) by multiplying slices: the head count is small
  and static, and this gradient is far cheaper than `tf.reduce_prod`'s.

  Args:
    values: `[B, h, ...]` with a static h.
  Returns:
    `[B, ...]`.
  """
  slices = tf.unstack(values, axis=1)
  result = slices[0]
  for head in slices[1:]:
    result = result * head
  return result


def write(memory, weights, erase, add):
  """Erase then add, all write heads at once.

  M' = M * prod_j (1 - w_j e_j^T) + sum_j w_j a_j^T.
  (Erase is a product over heads and add a sum, as in both originals.)
  Outer products are batched matmuls: on CPU they are much faster than
  broadcasting multiplies of rank-4 tensors.

  Args:
    memory: `[B, N, W]`.
    weights: `[B, h, N]` write weightings.
    erase: `[B, h, W]` in (0, 1).
    add: `[B, h, W]` write vectors.
  Returns:
    `[B, N, W]` the new memory.
  """
  weight_heads = tf.split(weights, weights.shape[1], axis=1)
  erase_heads = tf.split(erase, erase.shape[1], axis=1)
  keep = None
  for w, e in zip(weight_heads, erase_heads):
    head_keep = 1.0 - tf.matmul(w, e, transpose_a=True)  # [B, N, W]
    keep = head_keep if keep is None else keep * head_keep
  return memory * keep + tf.matmul(weights, add, transpose_a=True)


def read(memory, weights):
  """Weighted read: r_j = sum_i w_j[i] M[i].

  Args:
    memory: `[B, N, W]`.
    weights: `[B, R, N]` read weightings.
  Returns:
    `[B, R, W]` read vectors.
  """
  return tf.matmul(weights, memory)
