"""Controllers: the network that drives the memory (pytorch-dnc `core/controller.py`)."""
import collections

import tensorflow as tf

from common.layers import TorchLSTMCell

LSTMState = collections.namedtuple('LSTMState', ('h', 'c'))


class LSTMController(tf.keras.layers.Layer):
  """`LSTMCell` over `[x_t, r_{t-1}]`; h (not c) clamped to +-clip_value.

  For speed a sequence is run as: `project_inputs` once for all steps (the
  x_t part of the input weights and both biases), then `step` per time step
  with one matmul of `[r_{t-1}, h_{t-1}]`. `call` does both for one step.
  """

  def __init__(self, input_dim, read_vec_dim, hidden_dim, clip_value, name='controller'):
    super().__init__(name=name)
    self.input_dim, self.hidden_dim, self.clip_value = input_dim, hidden_dim, clip_value
    self.in_2_hid = TorchLSTMCell(input_dim + read_vec_dim, hidden_dim, name='in_2_hid')

  def initial_state(self, batch_size):
    zeros = tf.zeros([batch_size, self.hidden_dim])
    return LSTMState(zeros, zeros)

  def project_inputs(self, inputs):
    """`[..., B, Din]` -> `[..., B, 4H]`: x W_ih[:Din] + b_ih + b_hh."""
    cell = self.in_2_hid
    return (tf.tensordot(inputs, cell.weight_ih[:self.input_dim], axes=1)
            + (cell.bias_ih + cell.bias_hh))

  def recurrent_kernel(self):
    """`[R*W + H, 4H]`: the weights applied to `[r_{t-1}, h_{t-1}]`."""
    cell = self.in_2_hid
    return tf.concat([cell.weight_ih[self.input_dim:], cell.weight_hh], axis=0)

  def step(self, projected_input, read_vec_vb, state, recurrent_kernel):
    """Args: projected_input `[B, 4H]`; read_vec_vb `[B, R*W]`; state LSTMState;
    recurrent_kernel from `recurrent_kernel()`.
    Returns: hidden `[B, H]` (clamped) and the next LSTMState."""
    gates = projected_input + tf.matmul(tf.concat([read_vec_vb, state.h], axis=-1),
                                        recurrent_kernel)
    h, c = self.in_2_hid.apply_gates(gates, state)
    h = tf.clip_by_value(h, -self.clip_value, self.clip_value)
    return h, LSTMState(h, c)

  def call(self, input_vb, read_vec_vb, state):
    """Args: input_vb `[B, Din]`; read_vec_vb `[B, R*W]`; state LSTMState of `[B, H]`.
    Returns: hidden `[B, H]` (clamped) and the next LSTMState."""
    return self.step(self.project_inputs(input_vb), read_vec_vb, state, self.recurrent_kernel())
