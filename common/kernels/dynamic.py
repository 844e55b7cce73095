"""DNC dynamic memory allocation and temporal linkage (Graves et al. 2016).

Shapes: `B` batch, `h` write heads, `R` read heads, `N` slots.
Link matrices are `[B, h, N, N]` with L[a, b] ~ 1 meaning "slot a was written
right after slot b".
"""
import numpy as np
import tensorflow as tf

from common.kernels.memory import product_over_heads

EPSILON = 1e-6


def usage_after_write(usage, previous_write_weights):
  """Usage after the previous step's writes: u + (1 - u) * (1 - prod_j (1 - w_j)).

  Args:
    usage: `[B, N]`.
    previous_write_weights: `[B, h, N]`.
  Returns:
    `[B, N]`.
  """
  written = 1.0 - product_over_heads(1.0 - previous_write_weights)
  return usage + (1.0 - usage) * written


def usage_after_free(usage, free_gates, previous_read_weights):
  """Usage after freeing what was read: u * prod_r (1 - f_r * w_r).

  Args:
    usage: `[B, N]`.
    free_gates: `[B, R, 1]` in (0, 1).
    previous_read_weights: `[B, R, N]`.
  Returns:
    `[B, N]`.
  """
  retention = product_over_heads(1.0 - free_gates * previous_read_weights)
  return usage * retention


def allocation(usage, epsilon=EPSILON):
  """Allocation weighting: the least used slots get the write.

  u^ = eps + (1 - eps) u; phi = stable ascending sort of u^;
  a[phi[k]] = (1 - u^[phi[k]]) * prod_{m<k} u^[phi[m]].
  The product over the slots sorted before slot i is computed without sorting,
  as exp(sum_j before[i, j] log u^[j]) with before[i, j] = "slot j sorts before
  slot i" (smaller usage, or equal usage and lower index: a stable sort). This
  gives the sort's values and gradients (none through the order, as in the
  original) with a few dense ops instead of sorts and gathers, which is faster
  on CPU and under XLA. The floor keeps log and its gradient finite.

  Args:
    usage: `[B, N]` in [0, 1].
  Returns:
    `[B, N]` allocation weights, summing to <= 1.
  """
  usage = epsilon + (1.0 - epsilon) * usage
  num_slots = usage.shape[-1]
  usage_i, usage_j = usage[:, :, tf.newaxis], usage[:, tf.newaxis, :]
  lower_index = tf.constant(np.tri(num_slots, k=-1, dtype=bool))  # [i, j]: j < i
  before = tf.logical_or(usage_j < usage_i,
                         tf.logical_and(tf.equal(usage_j, usage_i), lower_index))
  log_product = tf.linalg.matvec(tf.cast(before, usage.dtype), tf.math.log(usage))
  return (1.0 - usage) * tf.exp(log_product)


def allocation_per_head(usage, usage_gates, epsilon=EPSILON):
  """Allocation for each write head in turn, each seeing the usage its
  predecessors would cause: after head j, u <- u + (1 - u) * gate_j * a_j.

  Args:
    usage: `[B, N]`.
    usage_gates: `[B, h, 1]`: the write gate (jingweiz) or allocation gate times
      write gate (DeepMind) of each head.
  Returns:
    allocations `[B, h, N]` and the simulated usage after all heads `[B, N]`.
  """
  allocations = []
  for gate in tf.unstack(usage_gates, axis=1):  # few heads; static loop
    weights = allocation(usage, epsilon)
    allocations.append(weights)
    usage = usage + (1.0 - usage) * gate * weights
  return tf.stack(allocations, axis=1), usage


def write_weighting(content, allocation_weights, allocation_gate, write_gate):
  """w^w = g^w * (g^a * a + (1 - g^a) * c).

  Args:
    content: `[B, h, N]`; allocation_weights: `[B, h, N]`;
    allocation_gate, write_gate: `[B, h, 1]`.
  Returns:
    `[B, h, N]`.
  """
  return write_gate * (allocation_gate * allocation_weights
                       + (1.0 - allocation_gate) * content)


def update_link(link, precedence, write_weights):
  """Temporal link update, diagonal kept at zero.

  L'[a, b] = (1 - w[a] - w[b]) L[a, b] + w[a] p[b].

  Args:
    link: `[B, h, N, N]`; precedence: `[B, h, N]` (from the previous step);
    write_weights: `[B, h, N]`.
  Returns:
    `[B, h, N, N]`.
  """
  # expand_dims rather than [..., tf.newaxis]: its gradient is a cheap reshape.
  w_row = tf.expand_dims(write_weights, -1)
  w_col = tf.expand_dims(write_weights, -2)
  new_link = (1.0 - w_row - w_col) * link + w_row * tf.expand_dims(precedence, -2)
  return tf.linalg.set_diag(new_link, tf.zeros_like(write_weights))


def update_precedence(precedence, write_weights):
  """p' = (1 - sum_a w[a]) p + w.

  Args:
    precedence: `[B, h, N]`; write_weights: `[B, h, N]`.
  Returns:
    `[B, h, N]`.
  """
  return (1.0 - tf.reduce_sum(write_weights, axis=-1, keepdims=True)) * precedence + write_weights


def directional_read_weights(link, previous_read_weights, forward):
  """Forward (L w) or backward (L^T w) weights of every read head through every
  write head's link matrix.

  Args:
    link: `[B, h, N, N]`.
    previous_read_weights: `[B, R, N]`.
    forward: Python bool.
  Returns:
    `[B, R, h, N]`.
  """
  # One batched matmul per write head: much faster on CPU than an einsum.
  per_head = [tf.matmul(previous_read_weights, head_link, transpose_b=forward)
              for head_link in tf.unstack(link, axis=1)]
  return tf.stack(per_head, axis=2)


def read_weighting(content, forward_weights, backward_weights, read_modes):
  """Mix the read modes: w^r = pi_content c + sum_j pi_fwd_j f_j + sum_j pi_bwd_j b_j.

  Mode layout on the last axis of `read_modes` (as the original):
  `[0, h)` backward, `[h, 2h)` forward, `2h` content.

  Args:
    content: `[B, R, N]`; forward_weights, backward_weights: `[B, R, h, N]`;
    read_modes: `[B, R, 2h + 1]` on the simplex.
  Returns:
    `[B, R, N]`.
  """
  num_writes = forward_weights.shape[2]
  backward_mode, forward_mode, content_mode = tf.split(
      read_modes, [num_writes, num_writes, 1], axis=-1)
  backward_mode, forward_mode = tf.expand_dims(backward_mode, -1), tf.expand_dims(forward_mode, -1)
  return (content_mode * content
          + tf.reduce_sum(forward_mode * forward_weights, axis=2)
          + tf.reduce_sum(backward_mode * backward_weights, axis=2))
