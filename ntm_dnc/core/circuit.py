"""Circuits: controller + accessor + output layer, one recurrent step per call
(pytorch-dnc `core/circuit.py`, `core/circuits/`)."""
import collections

import tensorflow as tf

from common.layers import torch_dense
from ntm_dnc.core.accessor import DynamicAccessor, StaticAccessor
from ntm_dnc.core.controller import LSTMController
from ntm_dnc.core.memory import MEMORY_INIT

CircuitState = collections.namedtuple('CircuitState', ('controller', 'read_vec', 'accessor'))


class Circuit(tf.keras.layers.Layer):
  """h_t = controller(x_t, r_{t-1}); accessor writes then reads r_t;
  y_t = sigmoid(clamp(Linear([h_t, r_t]))).

  `params`: input_dim, output_dim, hidden_dim, num_write_heads, num_read_heads,
  mem_hei, mem_wid, clip_value and the quirk switches (see constants.py).
  """
  accessor_class = None

  def __init__(self, params, name):
    super().__init__(name=name)
    self.params = params
    self.read_vec_dim = params.num_read_heads * params.mem_wid
    self.controller = LSTMController(params.input_dim, self.read_vec_dim,
                                     params.hidden_dim, params.clip_value)
    self.accessor = self.accessor_class(params)
    self.hid_to_out = torch_dense(params.output_dim, params.hidden_dim + self.read_vec_dim,
                                  'hid_to_out')

  def initial_state(self, batch_size):
    """Every part reset per sequence; none is learned (spec 2.7)."""
    return CircuitState(
        controller=self.controller.initial_state(batch_size),
        read_vec=tf.fill([batch_size, self.read_vec_dim], MEMORY_INIT),
        accessor=self.accessor.initial_state(batch_size))

  def _kernels(self):
    """Weights used at every step, concatenated once per sequence: the
    controller's recurrent kernel and all head maps as one kernel."""
    return self.controller.recurrent_kernel(), self.accessor.fused_kernel()

  def _step(self, projected_input, state, kernels):
    recurrent_kernel, (interface_kernel, interface_bias) = kernels
    hidden_vb, controller_state = self.controller.step(projected_input, state.read_vec,
                                                       state.controller, recurrent_kernel)
    interface_vb = tf.matmul(hidden_vb, interface_kernel) + interface_bias
    read_vec, accessor_state = self.accessor.step(interface_vb, state.accessor)
    read_vec = tf.reshape(read_vec, [-1, self.read_vec_dim])
    return hidden_vb, CircuitState(controller_state, read_vec, accessor_state)

  def _output(self, hidden_vb, read_vec):
    """Logits `[..., output_dim]` from `[..., H]` and `[..., R*W]`, clamped."""
    logits = self.hid_to_out(tf.concat([hidden_vb, read_vec], axis=-1))
    return tf.clip_by_value(logits, -self.params.clip_value, self.params.clip_value)

  def call(self, input_vb, state):
    """One time step.

    Args:
      input_vb: `[B, input_dim]`.
      state: CircuitState.
    Returns:
      logits `[B, output_dim]` (clamped to +-clip_value; sigmoid gives the
      original's outputs) and the next CircuitState.
    """
    hidden_vb, state = self._step(self.controller.project_inputs(input_vb), state,
                                  self._kernels())
    return self._output(hidden_vb, state.read_vec), state

  def unroll(self, inputs, unroll=True, trace=False):
    """Run a whole (time-major) batch from the initial state.

    Work that does not depend on the recurrence (the input projection, weight
    concatenation, the output layer) is done once for all steps.

    Args:
      inputs: `[T, B, input_dim]` with a static T.
      unroll: build T copies of the step in the graph (fastest for short T) or
        use `tf.scan` (a `tf.while_loop`; smaller graph for long T).
      trace: also return every step's accessor state (for visualisation).
    Returns:
      logits `[T, B, output_dim]`, and if `trace` the accessor states stacked
      over time (each field with a leading `[T]` axis).
    """
    state = self.initial_state(tf.shape(inputs)[1])
    projected = self.controller.project_inputs(inputs)  # [T, B, 4H]
    kernels = self._kernels()
    if unroll:
      hiddens, reads, states = [], [], []
      for projected_t in tf.unstack(projected):
        hidden_vb, state = self._step(projected_t, state, kernels)
        hiddens.append(hidden_vb)
        reads.append(state.read_vec)
        if trace:
          states.append(state.accessor)
      logits = self._output(tf.stack(hiddens), tf.stack(reads))
      if not trace:
        return logits
      return logits, tf.nest.map_structure(lambda *xs: tf.stack(xs), *states)

    def scan_step(carry, projected_t):
      hidden_vb, next_state = self._step(projected_t, carry[1], kernels)
      return hidden_vb, next_state

    batch = tf.shape(inputs)[1]
    hiddens, states = tf.scan(scan_step, projected,
                              initializer=(tf.zeros([batch, self.params.hidden_dim]), state))
    logits = self._output(hiddens, states.read_vec)
    return (logits, states.accessor) if trace else logits


class NTMCircuit(Circuit):
  accessor_class = StaticAccessor

  def __init__(self, params, name='ntm_circuit'):
    super().__init__(params, name)


class DNCCircuit(Circuit):
  accessor_class = DynamicAccessor

  def __init__(self, params, name='dnc_circuit'):
    super().__init__(params, name)
