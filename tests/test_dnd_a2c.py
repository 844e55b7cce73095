"""dnd_lstm/model/a2c.py and utils.py against numpy references, with gradient checks."""
import numpy as np
import pytest
import tensorflow as tf
from kernel_testing import assert_close, max_jacobian_error

from dnd_lstm.model import utils
from dnd_lstm.model.a2c import A2CLinear


def test_head_matches_numpy_and_init():
  head = A2CLinear(32, 2, seeds=[0, 0, 5], dtype=tf.float64)
  wa, wv = head.actor_kernel.numpy(), head.critic_kernel.numpy()   # [3, 32, 2], [3, 32, 1]
  for agent in range(3):
    assert_close(wa[agent].T @ wa[agent], np.eye(2), atol=1e-10)  # orthonormal actor rows (torch layout)
    assert_close(np.linalg.norm(wv[agent]), 1.0)                  # a unit-norm critic row
  assert np.array_equal(wa[0], wa[1]) and not np.allclose(wa[0], wa[2])  # one seed, one init
  assert np.all(head.actor_bias.numpy() == 0) and np.all(head.critic_bias.numpy() == 0)
  h = np.random.default_rng(0).normal(size=(3, 32))
  policy, value = head(tf.constant(h), beta=2.0)
  logits = np.einsum('bi,bio->bo', h, wa) / 2.0
  expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
  assert_close(policy, expected, rtol=1e-12)
  assert_close(value, np.einsum('bi,bio->bo', h, wv)[:, 0], rtol=1e-12)
  with pytest.raises(ValueError, match='beta=0'):
    head(tf.constant(h), beta=0)


def np_returns(rewards, gamma, normalize):
  out = np.zeros_like(rewards)
  running = 0.0
  for t in reversed(range(len(rewards))):
    running = rewards[t] + gamma * running
    out[t] = running
  if normalize:
    out = (out - out.mean()) / (out.std(ddof=1) + utils.EPS)
  return out


@pytest.mark.parametrize('gamma, normalize', [(0.0, False), (0.9, False), (0.9, True)])
def test_returns_match_numpy(gamma, normalize):
  rewards = np.random.default_rng(1).integers(0, 2, size=(2, 10)).astype(np.float64)
  got = utils.compute_returns(tf.constant(rewards), gamma, normalize).numpy()
  for b in range(2):
    assert_close(got[b], np_returns(rewards[b], gamma, normalize), rtol=1e-12)
  if gamma == 0.0:
    np.testing.assert_array_equal(got, rewards)  # the original's default: R_t = r_t


def test_reward():
  reward = utils.get_reward(tf.constant([0, 1, 1]), tf.constant([0.0, 0.0, 1.0], tf.float64))
  assert reward.numpy().tolist() == [1.0, 0.0, 1.0] and reward.dtype == tf.float64
  assert utils.get_reward(tf.constant([1]), tf.constant([1])).dtype == tf.float32


def np_a2c(log_probs, values, returns):
  advantage = returns - values
  d = np.abs(values - returns)
  huber = np.where(d < 1, 0.5 * d ** 2, d - 0.5)
  return (-log_probs * advantage).sum(axis=1), huber.sum(axis=1)


def test_a2c_loss_matches_numpy_and_its_gradients():
  rng = np.random.default_rng(2)
  log_probs = np.log(rng.uniform(0.1, 0.9, size=(2, 10)))
  values, returns = rng.normal(scale=1.5, size=(2, 10)), rng.integers(0, 2, size=(2, 10)) * 1.0
  policy, value = utils.compute_a2c_loss(*[tf.constant(a) for a in (log_probs, values, returns)])
  expected_policy, expected_value = np_a2c(log_probs, values, returns)
  assert_close(policy, expected_policy, rtol=1e-12)
  assert_close(value, expected_value, rtol=1e-12)
  # The advantage's value is a constant: the policy loss has no gradient into V.
  values_var = tf.Variable(values)
  with tf.GradientTape() as tape:
    policy, _ = utils.compute_a2c_loss(tf.constant(log_probs), values_var, tf.constant(returns))
  gradient = tape.gradient(tf.reduce_sum(policy), values_var)
  assert gradient is None or np.all(gradient.numpy() == 0)
  # Finite differences see V inside the advantage, so check each loss in the argument
  # it is differentiated in: the policy loss in log pi, the value loss in V.
  constant = lambda a: tf.constant(a)
  policy_loss = lambda lp: tf.reduce_sum(
      utils.compute_a2c_loss(lp, constant(values), constant(returns))[0])
  value_loss = lambda v: tf.reduce_sum(
      utils.compute_a2c_loss(constant(log_probs), v, constant(returns))[1])
  assert max_jacobian_error(policy_loss, [log_probs]) < 1e-6
  assert max_jacobian_error(value_loss, [values + 0.013]) < 1e-6
