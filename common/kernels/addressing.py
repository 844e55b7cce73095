"""Content and location addressing (Graves et al. 2014; Graves et al. 2016).

Shapes: `B` batch, `h` heads, `N` memory slots, `W` word width.
"""
import tensorflow as tf

EPSILON = 1e-6


def cosine_similarity(keys, memory, epsilon=EPSILON):
  """Cosine similarity of every key with every memory row.

  K[b, h, i] = k·M[i] / (sqrt((|k|^2 + eps) * (|M[i]|^2 + eps)) + eps).
  Built from sums of squares (never `tf.norm`, whose gradient is NaN at 0).

  Args:
    keys: `[B, h, W]`.
    memory: `[B, N, W]`.
  Returns:
    `[B, h, N]`.
  """
  dot = tf.matmul(keys, memory, transpose_b=True)  # batched matmul beats einsum on CPU
  key_sq = tf.reduce_sum(tf.square(keys), axis=-1, keepdims=True) + epsilon
  mem_sq = tf.expand_dims(tf.reduce_sum(tf.square(memory), axis=-1), 1) + epsilon
  return dot / (tf.sqrt(key_sq * mem_sq) + epsilon)


def content_weights(keys, strengths, memory, epsilon=EPSILON):
  """Content-based weighting: softmax over slots of strength * cosine similarity.

  Args:
    keys: `[B, h, W]`.
    strengths: `[B, h, 1]` (beta, already made positive).
    memory: `[B, N, W]`.
  Returns:
    `[B, h, N]`, each row on the simplex.
  """
  return tf.nn.softmax(strengths * cosine_similarity(keys, memory, epsilon), axis=-1)


def interpolate(content, previous, gate):
  """NTM interpolation gate: w^g = g * w^c + (1 - g) * w_{t-1}.

  Args:
    content: `[B, h, N]` content weights.
    previous: `[B, h, N]` the head's weights from the previous step.
    gate: `[B, h, 1]` in (0, 1).
  Returns:
    `[B, h, N]`.
  """
  return gate * content + (1.0 - gate) * previous


def circular_shift(weights, shift):
  """NTM circular convolution with a 3-way shift distribution.

  Index 0 of `shift` moves mass one slot towards higher indices, index 1 keeps it,
  index 2 moves it towards lower indices (the convention of the original):
  w~[i] = s0 * w[i-1] + s1 * w[i] + s2 * w[i+1], indices modulo N.

  Args:
    weights: `[B, h, N]`.
    shift: `[B, h, 3]` on the simplex.
  Returns:
    `[B, h, N]`.
  """
  to_higher, stay, to_lower = tf.split(shift, 3, axis=-1)
  return (to_higher * tf.roll(weights, shift=1, axis=-1)
          + stay * weights
          + to_lower * tf.roll(weights, shift=-1, axis=-1))


def sharpen(weights, gamma, epsilon=0.0):
  """NTM sharpening: w[i] = w~[i]^gamma / sum_j w~[j]^gamma.

  The original adds no epsilon (`epsilon=0.0`, faithful); a tiny positive
  `epsilon` in the denominator avoids 0/0 when every entry underflows.

  Args:
    weights: `[B, h, N]` non-negative.
    gamma: `[B, h, 1]` >= 1.
  Returns:
    `[B, h, N]`.
  """
  powered = tf.pow(weights, gamma)
  return powered / (tf.reduce_sum(powered, axis=-1, keepdims=True) + epsilon)


def ntm_location_focus(content, previous, gate, shift, gamma, sharpen_epsilon=0.0):
  """The NTM addressing chain after content focus: interpolate, shift, sharpen.

  Args:
    content: `[B, h, N]`; previous: `[B, h, N]`; gate: `[B, h, 1]`;
    shift: `[B, h, 3]`; gamma: `[B, h, 1]`.
  Returns:
    `[B, h, N]`.
  """
  gated = interpolate(content, previous, gate)
  return sharpen(circular_shift(gated, shift), gamma, sharpen_epsilon)
