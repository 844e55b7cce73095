"""The actor-critic head (qihongl/dnd-lstm `model/A2C.py`: `A2C_linear`, spec 3.3).

policy = softmax((h W_a + b_a) / beta), value = h W_v + b_v; orthogonal kernels and
zero biases, as the original's `reset_parameter`. The softmax runs over the last
axis (the original's runs over the squeezed vector: the same for its batch of 1).

Shapes: `B` agents, `H` hidden width, `A` actions.
"""
import tensorflow as tf

from dnd_lstm.model.dnd_lstm import (INIT_ACTOR, INIT_CRITIC, batch_linear, orthogonal,
                                     per_agent_blocks)


class A2CLinear(tf.Module):
  """Args:
    dim_input: H; dim_output: A.
    seeds: one run seed per agent (B = len(seeds)); an int is one agent.
    dtype: tf.float32 or tf.float64.
  """

  def __init__(self, dim_input, dim_output, seeds=(0,), dtype=tf.float32, name='a2c'):
    super().__init__(name=name)
    seeds = [seeds] if isinstance(seeds, int) else list(seeds)
    batch = len(seeds)
    self.actor_kernel = tf.Variable(orthogonal([dim_input, dim_output], seeds, INIT_ACTOR, dtype),
                                    name='actor_kernel')
    self.actor_bias = tf.Variable(tf.zeros([batch, dim_output], dtype), name='actor_bias')
    self.critic_kernel = tf.Variable(orthogonal([dim_input, 1], seeds, INIT_CRITIC, dtype),
                                     name='critic_kernel')
    self.critic_bias = tf.Variable(tf.zeros([batch, 1], dtype), name='critic_bias')

  def __call__(self, h, beta=1.0):
    """Args: h `[B, H]`. Returns: (policy `[B, A]` probabilities, value `[B]`).

    Per step on purpose: batched matmuls over T steps with 2 output columns
    round differently for 1 and for 10 agents in Eigen's kernels, matrix-vector
    ones do not (so agents side by side equal single runs bit for bit); the
    softmax's exp runs in per-agent blocks for the same reason.
    """
    if not beta > 0:
      raise ValueError(f'beta={beta} must be > 0')
    logits = batch_linear(h, self.actor_kernel, self.actor_bias) / beta
    value = batch_linear(h, self.critic_kernel, self.critic_bias)[:, 0]
    weights = per_agent_blocks(tf.exp, logits - tf.reduce_max(logits, axis=-1, keepdims=True))
    return weights / tf.reduce_sum(weights, axis=-1, keepdims=True), value

  def heads(self, hs, beta=1.0):
    """`__call__` for a trial's T hidden states at once: one matrix-vector product
    per step for actor and critic together, the softmax once over `[B, T, A]`.

    Args: hs: list of T `[B, H]`. Returns: (policy `[B, T, A]`, value `[B, T]`).
    """
    if not beta > 0:
      raise ValueError(f'beta={beta} must be > 0')
    kernel = tf.concat([self.actor_kernel, self.critic_kernel], axis=-1)     # [B, H, A + 1]
    bias = tf.concat([self.actor_bias, self.critic_bias], axis=-1)           # [B, A + 1]
    out = tf.stack([batch_linear(h, kernel, bias) for h in hs], axis=1)      # [B, T, A + 1]
    logits, value = out[..., :-1] / beta, out[..., -1]
    weights = per_agent_blocks(tf.exp, logits - tf.reduce_max(logits, axis=-1, keepdims=True))
    return weights / tf.reduce_sum(weights, axis=-1, keepdims=True), value
