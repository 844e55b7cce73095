"""Returns, rewards and the A2C loss (qihongl/dnd-lstm `model/utils.py`, spec 4).

Shapes: `B` agents, `T` steps of a trial.
"""
import tensorflow as tf

EPS = 1.1920929e-07  # float32 machine epsilon, the original's `eps`


def compute_returns(rewards, gamma=0.0, normalize=False):
  """R_t = r_t + gamma R_{t+1}, backwards over the trial (gamma 0: R_t = r_t).

  Args:
    rewards: `[B, T]`.
    normalize: standardise each agent's returns, `(R - mean) / (std + eps)` with the
      unbiased std, as the original's option.
  Returns:
    `[B, T]`.
  """
  steps = tf.unstack(rewards, axis=1)
  running, returns = tf.zeros_like(steps[-1]), []
  for reward in reversed(steps):  # T is small and static
    running = reward + gamma * running
    returns.append(running)
  returns = tf.stack(returns[::-1], axis=1)
  if normalize:
    mean = tf.reduce_mean(returns, axis=1, keepdims=True)
    count = tf.cast(tf.shape(returns)[1], returns.dtype)
    std = tf.sqrt(tf.reduce_sum(tf.square(returns - mean), axis=1, keepdims=True) / (count - 1))
    returns = (returns - mean) / (std + EPS)
  return returns


def get_reward(action, target):
  """1 where the action equals the target, else 0 (`[B]`, in target's dtype if it is a
  float, else float32)."""
  target = tf.convert_to_tensor(target)
  dtype = target.dtype if target.dtype.is_floating else tf.float32
  return tf.cast(tf.equal(tf.cast(action, tf.int64), tf.cast(target, tf.int64)), dtype)


def smooth_l1(prediction, target):
  """PyTorch's `smooth_l1_loss` per element (beta 1): 0.5 d^2 if |d| < 1, else |d| - 0.5."""
  d = tf.abs(prediction - target)
  return tf.where(d < 1.0, 0.5 * tf.square(d), d - 0.5)


def compute_a2c_loss(log_probs, values, returns):
  """The original's A2C loss, summed over the trial's steps.

  Advantage A_t = R_t - stop_gradient(V_t); policy loss sum_t -log pi(a_t) A_t;
  value loss sum_t SmoothL1(V_t, R_t); no entropy term.

  Args:
    log_probs: `[B, T]` log-probabilities of the actions taken.
    values: `[B, T]` critic values; returns: `[B, T]`.
  Returns:
    (policy loss `[B]`, value loss `[B]`).
  """
  advantage = returns - tf.stop_gradient(values)
  policy = tf.reduce_sum(-log_probs * advantage, axis=1)
  value = tf.reduce_sum(smooth_l1(values, returns), axis=1)
  return policy, value
