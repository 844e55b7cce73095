"""The actor-critic head (qihongl/dnd-lstm `model/A2C.py`: `A2C_linear`, spec 3.3).

policy = softmax((h W_a + b_a) / beta), value = h W_v + b_v; orthogonal kernels and
zero biases, as the original's `reset_parameter`. The softmax runs over the last
axis (the original's runs over the squeezed vector: the same for its batch of 1).

Shapes: `B` agents, `H` hidden width, `A` actions.
"""
import tensorflow as tf


class A2CLinear(tf.Module):
  """Args:
    dim_input: H; dim_output: A.
    dtype: tf.float32 or tf.float64.
    seed: for the orthogonal initialisers.
  """

  def __init__(self, dim_input, dim_output, dtype=tf.float32, seed=None, name='a2c'):
    super().__init__(name=name)
    orthogonal = lambda offset: tf.keras.initializers.Orthogonal(
        seed=None if seed is None else seed + offset)
    self.actor_kernel = tf.Variable(orthogonal(0)([dim_input, dim_output], dtype),
                                    name='actor_kernel')
    self.actor_bias = tf.Variable(tf.zeros([dim_output], dtype), name='actor_bias')
    self.critic_kernel = tf.Variable(orthogonal(1)([dim_input, 1], dtype), name='critic_kernel')
    self.critic_bias = tf.Variable(tf.zeros([1], dtype), name='critic_bias')

  def __call__(self, h, beta=1.0):
    """Args: h `[B, H]`. Returns: (policy `[B, A]` probabilities, value `[B]`)."""
    if not beta > 0:
      raise ValueError(f'beta={beta} must be > 0')
    logits = tf.matmul(h, self.actor_kernel) + self.actor_bias
    value = tf.matmul(h, self.critic_kernel)[:, 0] + self.critic_bias[0]
    return tf.nn.softmax(logits / beta, axis=-1), value
