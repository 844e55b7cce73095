"""Shared helpers for the kernel tests: tolerances, inputs, gradient checks."""
import numpy as np
import tensorflow as tf


def assert_close(actual, expected, rtol=1e-5, atol=1e-6):
  np.testing.assert_allclose(np.asarray(actual, dtype=np.float64),
                             np.asarray(expected, dtype=np.float64), rtol=rtol, atol=atol)


def f32(x):
  return tf.constant(np.asarray(x, dtype=np.float32))


def simplex(rng, shape):
  x = rng.gamma(1.0, size=shape) + 1e-3
  return x / x.sum(axis=-1, keepdims=True)


def sub_simplex(rng, shape, low=0.2):
  """Non-negative rows summing to <= 1."""
  return simplex(rng, shape) * rng.uniform(low, 1.0, size=shape[:-1] + (1,))


def max_jacobian_error(f, inputs, delta=1e-6):
  """Largest |analytic - numeric| Jacobian entry, in float64."""
  xs = [tf.constant(np.asarray(x, dtype=np.float64)) for x in inputs]
  theoretical, numerical = tf.test.compute_gradient(f, xs, delta=delta)
  assert any(np.any(t != 0) for t in theoretical), "gradient is identically zero"
  return max(float(np.max(np.abs(t - n))) for t, n in zip(theoretical, numerical))
