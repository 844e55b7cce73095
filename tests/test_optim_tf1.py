"""common/optim.py: TF1RMSProp, linear_decay and clip_by_global_norm against numpy
references of multigrid_memory spec 5.2."""
import numpy as np
import pytest
import tensorflow as tf

from common.optim import TF1RMSProp, clip_by_global_norm, linear_decay


def np_rmsprop(var, grads, lrs, decay=0.99, momentum=0.0, epsilon=0.1):
  ms, mom = np.ones_like(var), np.zeros_like(var)
  for g, lr in zip(grads, lrs):
    ms = decay * ms + (1 - decay) * g * g
    mom = momentum * mom + lr * g / np.sqrt(ms + epsilon)
    var = var - mom
  return var, ms


@pytest.mark.parametrize('dtype, tol', [(tf.float64, 1e-12), (tf.float32, 3e-6)])
def test_rmsprop_matches_numpy_with_ones_accumulator_and_epsilon_inside(dtype, tol):
  rng = np.random.default_rng(0)
  start = rng.normal(size=(3, 4))
  grads = [rng.normal(size=(3, 4)) * 10 ** k for k in (-3, 0, 1, -1, 2)]
  lrs = [float(linear_decay(g)) for g in range(5)]
  variable = tf.Variable(start, dtype=dtype)
  optimizer = TF1RMSProp([variable])

  @tf.function
  def step(grad):
    optimizer.apply_gradients([grad], [variable])

  for g, grad in enumerate(grads):
    optimizer.lr.assign(linear_decay(g))
    step(tf.constant(grad, dtype))
  expected, ms = np_rmsprop(start, grads, lrs)
  np.testing.assert_allclose(variable.numpy(), expected, rtol=tol, atol=tol)
  np.testing.assert_allclose(optimizer.ms[0].numpy(), ms, rtol=tol)
  # Keras' RMSprop (accumulator from 0, epsilon outside the root) is not this rule.
  keras = np.zeros_like(start)
  keras = 0.99 * keras + 0.01 * grads[0] ** 2
  assert not np.allclose(start - lrs[0] * grads[0] / (np.sqrt(keras) + 0.1),
                         np_rmsprop(start, grads[:1], lrs[:1])[0])


def test_rmsprop_momentum_and_bad_gradient_count():
  start, grad = np.array([1.0, -2.0]), np.array([0.5, 0.25])
  variable = tf.Variable(start)
  optimizer = TF1RMSProp([variable], lr=0.1, momentum=0.9)
  for _ in range(3):
    optimizer.apply_gradients([tf.constant(grad)], [variable])
  np.testing.assert_allclose(variable.numpy(),
                             np_rmsprop(start, [grad] * 3, [float(np.float32(0.1))] * 3,
                                        momentum=0.9)[0], rtol=1e-12)  # lr is a float32 variable
  with pytest.raises(ValueError, match='expected 1 gradients, got 2'):
    optimizer.apply_gradients([grad, grad], [variable, variable])


def test_linear_decay():
  assert float(linear_decay(0)) == pytest.approx(1e-3)
  assert float(linear_decay(500000)) == pytest.approx(5.5e-4)
  assert float(linear_decay(10 ** 6)) == pytest.approx(1e-4)
  assert float(linear_decay(5 * 10 ** 6)) == pytest.approx(1e-4)
  assert float(linear_decay(10, start=1.0, end=0.0, decay_steps=100)) == pytest.approx(0.9)


def test_clip_by_global_norm_matches_numpy():
  a, b = np.array([3.0, 0.0]), np.array([[0.0, 4.0]])          # global norm 5
  clipped, norm = clip_by_global_norm([tf.constant(a), tf.constant(b)], 2.5)
  assert float(norm) == pytest.approx(5.0)
  np.testing.assert_allclose(clipped[0].numpy(), a / 2)
  np.testing.assert_allclose(clipped[1].numpy(), b / 2)
  unclipped, _ = clip_by_global_norm([tf.constant(a)], 10.0)
  np.testing.assert_array_equal(unclipped[0].numpy(), a)
