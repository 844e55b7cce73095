"""One trial of the DND-LSTM A2C agent as one compiled function (spec 3, 4 and 6.1).

A trial is T steps of: read the DND with x_t, step the cell, write (x_t, c_t)
where encoding is on, sample a_t from the policy, reward 1[a_t == y]. Then the
A2C loss, its gradients and one Adam step (PyTorch's rule). All T steps are
unrolled in one `tf.function` with the DND in variables and its switches as
tensors, so nothing runs in Python per time step.

`B` agents (different seeds) run side by side: every variable has a leading
agent axis, each agent's loss depends only on its own variables, and Adam is
elementwise, so agent b follows exactly the run it would follow alone.

Actions are sampled by inverse CDF from uniforms the caller draws (`[B, T]` in
[0, 1)), so each agent's actions come from its own numpy stream; `replay`
instead takes given actions (to follow a recorded run of the original).

Shapes: `B` agents, `T` steps, `Dx` input width, `H` hidden width, `A` actions.
"""
import collections

import tensorflow as tf

from common.optim import TorchAdam
from dnd_lstm.model import utils
from dnd_lstm.model.a2c import A2CLinear
from dnd_lstm.model.dnd_lstm import DNDLSTM, per_agent_blocks

# Every per-step quantity of a trial, by name, each `[B, T, ...]`: the cell's
# state and gates (`[B, T, H]`), the retrieved slot, its similarity and whether
# anything was retrieved (`[B, T]`), the policy `[B, T, A]`, value, action, its
# log-probability and reward (`[B, T]`).
TRACE_FIELDS = ('h', 'c', 'f', 'i', 'o', 'r', 'g', 'm', 'index', 'similarity', 'found',
                'policy', 'value', 'action', 'log_prob', 'reward')
Trace = collections.namedtuple('Trace', TRACE_FIELDS)
# What a trial returns: its trace and the per-agent losses `[B]`.
TrialResult = collections.namedtuple('TrialResult', ('trace', 'loss_policy', 'loss_value'))


def sample_actions(policy, uniform):
  """Inverse-CDF sampling: the first action whose cumulative probability exceeds u.

  Args:
    policy: `[..., A]` probabilities; uniform: `[...]` in [0, 1).
  Returns:
    `[...]` int32.
  """
  thresholds = tf.cumsum(policy, axis=-1)[..., :-1]                # [..., A - 1]
  passed = tf.cast(uniform[..., None] >= thresholds, tf.int32)
  return tf.reduce_sum(passed, axis=-1)


class Agent(tf.Module):
  """The DND-LSTM cell with its DND, the A2C head and Adam, for `len(seeds)` agents.

  Args:
    input_dim: Dx; hidden_dim: H; output_dim: A; dict_len: the DND capacity.
    seeds: one run seed per agent (each agent's weights depend on its seed alone).
    kernel, policy, k, delta, eviction: the DND's options (see `DND`).
    learning_rate, adam_eps: Adam's (PyTorch's betas 0.9, 0.999).
    gamma, normalize_returns: the returns' (`utils.compute_returns`).
    beta: the softmax temperature.
    two_biases: the original's two summed bias vectors (see `DNDLSTM`).
    dtype: tf.float32 or tf.float64.
    jit_compile: XLA for the compiled trial functions.
  """

  def __init__(self, input_dim, hidden_dim, output_dim, dict_len, seeds, kernel='l2',
               policy='1NN', k=1, delta=1e-3, eviction='FIFO', learning_rate=5e-4,
               adam_eps=1e-8, gamma=0.0, normalize_returns=False, beta=1.0, two_biases=True,
               dtype=tf.float32, jit_compile=False, name='agent'):
    super().__init__(name=name)
    self.seeds = list(seeds)
    self.dtype = dtype
    self.gamma, self.normalize_returns, self.beta = gamma, normalize_returns, beta
    self.cell = DNDLSTM(input_dim, hidden_dim, dict_len, kernel, self.seeds, dtype, two_biases,
                        policy=policy, k=k, delta=delta, eviction=eviction)
    self.a2c = A2CLinear(hidden_dim, output_dim, self.seeds, dtype)
    self.variables_trained = list(self.cell.trainable_variables) + list(self.a2c.trainable_variables)
    self.optimizer = TorchAdam(self.variables_trained, lr=learning_rate, eps=adam_eps)
    self.train_trial = tf.function(self._train_trial, jit_compile=jit_compile)
    self.run_trial = tf.function(self._run_trial, jit_compile=jit_compile)

  @property
  def dnd(self):
    return self.cell.dnd

  def parameter_count(self):
    """Trainable parameters of one agent (the original's 15,779)."""
    total = sum(int(v.shape.num_elements()) for v in self.variables_trained)
    return total // len(self.seeds)

  def rollout(self, x, y, h0, c0, uniform, actions, replay, encode, retrieval_on):
    """The T steps of one trial and its A2C losses (differentiable; no update).

    Args:
      x: `[B, T, Dx]` inputs; y: `[B, T]` int targets.
      h0, c0: `[B, H]` initial state (the original draws N(0, 0.1^2) per trial).
      uniform: `[B, T]` in [0, 1), the sampling noise.
      actions: `[B, T]` int, the actions to take where `replay`.
      replay: bool `[]`: take `actions` instead of sampling.
      encode: bool `[B]` or `[]`: write at the last step (phase-1 trials).
      retrieval_on: bool `[B]` or `[]`.
    Returns:
      `TrialResult`.
    """
    outs, reads = self.cell.trial(x, h0, c0, encode, retrieval_on)
    stacked = {name: tf.stack([getattr(out, name) for out in outs], axis=1)
               for name in outs[0]._fields}                              # [B, T, H] each
    policy, value = self.a2c.heads([out.h for out in outs], self.beta)   # [B, T, A], [B, T]
    # The action does not feed back into the recurrence: sampled for all T at once.
    action = tf.where(replay, tf.cast(actions, tf.int32), sample_actions(policy, uniform))
    log_prob = per_agent_blocks(tf.math.log, tf.gather(policy, action, batch_dims=2))
    reward = tf.cast(utils.get_reward(action, y), self.dtype)
    stacked.update(index=reads.index, similarity=reads.similarity, found=reads.found,
                   policy=policy, value=value, action=action, log_prob=log_prob, reward=reward)
    trace = Trace(**stacked)
    returns = utils.compute_returns(trace.reward, self.gamma, self.normalize_returns)
    loss_policy, loss_value = utils.compute_a2c_loss(trace.log_prob, trace.value, returns)
    return TrialResult(trace, loss_policy, loss_value)

  def _run_trial(self, x, y, h0, c0, uniform, actions, replay, encode, retrieval_on):
    """`rollout` without learning (test mode and analyses)."""
    return self.rollout(x, y, h0, c0, uniform, actions, replay, encode, retrieval_on)

  def gradients(self, x, y, h0, c0, uniform, actions, replay, encode, retrieval_on):
    """(`TrialResult`, gradients of the summed loss for `variables_trained`)."""
    with tf.GradientTape() as tape:
      result = self.rollout(x, y, h0, c0, uniform, actions, replay, encode, retrieval_on)
      # Agents' losses are independent: the sum's gradient for agent b's
      # variables is agent b's own gradient.
      loss = tf.reduce_sum(result.loss_policy + result.loss_value)
    return result, tape.gradient(loss, self.variables_trained)

  def _train_trial(self, x, y, h0, c0, uniform, actions, replay, encode, retrieval_on):
    """`rollout`, then one Adam step on its loss (the original's one update per trial)."""
    result, grads = self.gradients(x, y, h0, c0, uniform, actions, replay, encode, retrieval_on)
    self.optimizer.apply_gradients(grads, self.variables_trained)
    return result
