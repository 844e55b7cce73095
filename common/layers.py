"""Keras layers that match PyTorch's defaults, for faithful ports of PyTorch code.

PyTorch initialises `nn.Linear` weight and bias from U(-1/sqrt(fan_in),
1/sqrt(fan_in)) and every `nn.LSTMCell` tensor (two biases included) from
U(-1/sqrt(hidden), 1/sqrt(hidden)); Keras defaults differ (Glorot, zero bias,
unit forget bias), which changes how fast these models learn.
"""
import math

import tensorflow as tf


def _uniform(limit):
  return tf.keras.initializers.RandomUniform(-limit, limit)


def torch_dense(units, fan_in, name, activation=None):
  """A built `Dense` layer initialised like `torch.nn.Linear(fan_in, units)`."""
  bound = 1.0 / math.sqrt(fan_in)
  layer = tf.keras.layers.Dense(units, activation=activation, name=name,
                                kernel_initializer=_uniform(bound),
                                bias_initializer=_uniform(bound))
  layer.build((None, fan_in))
  return layer


class TorchLSTMCell(tf.keras.layers.Layer):
  """`torch.nn.LSTMCell`: gates (i, f, g, o), two bias vectors, no forget bias.

  Kernels are the transposes of PyTorch's `weight_ih` / `weight_hh`.
  """

  def __init__(self, input_dim, hidden_dim, name='lstm_cell', **kwargs):
    super().__init__(name=name, **kwargs)
    self.input_dim, self.hidden_dim = input_dim, hidden_dim
    init = _uniform(1.0 / math.sqrt(hidden_dim))
    self.weight_ih = self.add_weight(name='weight_ih', shape=(input_dim, 4 * hidden_dim),
                                     initializer=init)
    self.weight_hh = self.add_weight(name='weight_hh', shape=(hidden_dim, 4 * hidden_dim),
                                     initializer=init)
    self.bias_ih = self.add_weight(name='bias_ih', shape=(4 * hidden_dim,), initializer=init)
    self.bias_hh = self.add_weight(name='bias_hh', shape=(4 * hidden_dim,), initializer=init)

  def call(self, inputs, state):
    """One step.

    Args:
      inputs: `[B, input_dim]`.
      state: `(h, c)`, each `[B, hidden_dim]`.
    Returns:
      `(h, c)` of the next step.
    """
    h, _ = state
    gates = (tf.matmul(inputs, self.weight_ih) + tf.matmul(h, self.weight_hh)
             + (self.bias_ih + self.bias_hh))
    return self.apply_gates(gates, state)

  @staticmethod
  def apply_gates(gates, state):
    """The cell's nonlinearity given the summed pre-activations `[B, 4H]`
    (lets callers compute the input projection once for a whole sequence)."""
    i, f, g, o = tf.split(gates, 4, axis=-1)
    c = tf.sigmoid(f) * state[1] + tf.sigmoid(i) * tf.tanh(g)
    h = tf.sigmoid(o) * tf.tanh(c)
    return h, c
