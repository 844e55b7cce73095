"""The DND-LSTM cell (qihongl/dnd-lstm `model/DNDLSTM.py`, spec 3).

One step: z = x W_x + b_x + h W_h + b_h, split into five H-blocks in the
original's order, forget f, input i, output o, reinstatement r (sigmoids) and
the candidate g (tanh);

    c' = f * c + i * g,   c = c' + r * tanh(m),   h = o * tanh(c),

where m is the value the DND retrieves for the query x (zeros when nothing is
stored or retrieval is off). The gates do not depend on the memory; the memory
enters the cell state of the same step, and the written value is the
post-reinstatement c. Orthogonal kernels (the whole 5H-wide matrix at once),
zero biases, two bias vectors summed, as the original.

Shapes: `B` agents, `Dx` input width, `H` hidden width.
"""
import collections

import tensorflow as tf

from dnd_lstm.model.dnd import DND

GATES = ('f', 'i', 'o', 'r', 'g')  # the order of the five blocks of z
# Every per-step quantity of one step, by name (the trace mode's fields).
Step = collections.namedtuple('Step', ('h', 'c', 'f', 'i', 'o', 'r', 'g', 'm'))


def cell_step(x, h, c, kernel_x, bias_x, kernel_h, bias_h, memory):
  """One DND-LSTM step given the retrieved memory.

  Args:
    x: `[B, Dx]` input; h, c: `[B, H]` previous state.
    kernel_x: `[Dx, 5H]`; bias_x: `[5H]`; kernel_h: `[H, 5H]`; bias_h: `[5H]`.
    memory: `[B, H]` the retrieved value (zeros for none).
  Returns:
    `Step` (h, c and the gates f, i, o, r, the candidate g and m = tanh(memory),
    each `[B, H]`).
  """
  z = tf.matmul(x, kernel_x) + bias_x + tf.matmul(h, kernel_h) + bias_h
  f, i, o, r, g = tf.split(z, 5, axis=-1)
  f, i, o, r, g = tf.sigmoid(f), tf.sigmoid(i), tf.sigmoid(o), tf.sigmoid(r), tf.tanh(g)
  m = tf.tanh(memory)
  c_new = f * c + i * g + r * m
  return Step(o * tf.tanh(c_new), c_new, f, i, o, r, g, m)


class DNDLSTM(tf.Module):
  """The cell with its DND (`i2h`, `h2h` as the original's two Linear layers).

  Args:
    input_dim: Dx; hidden_dim: H; dict_len: the DND's capacity; kernel: its similarity.
    batch_size: agents run side by side, each with its own DND.
    dtype: tf.float32 or tf.float64 (for checks against references).
    seed: for the orthogonal initialisers.
  """

  def __init__(self, input_dim, hidden_dim, dict_len, kernel='l2', batch_size=1,
               dtype=tf.float32, seed=None, name='dnd_lstm'):
    super().__init__(name=name)
    self.input_dim, self.hidden_dim = input_dim, hidden_dim
    orthogonal = lambda offset: tf.keras.initializers.Orthogonal(
        seed=None if seed is None else seed + offset)
    self.kernel_x = tf.Variable(orthogonal(0)([input_dim, 5 * hidden_dim], dtype), name='i2h_kernel')
    self.bias_x = tf.Variable(tf.zeros([5 * hidden_dim], dtype), name='i2h_bias')
    self.kernel_h = tf.Variable(orthogonal(1)([hidden_dim, 5 * hidden_dim], dtype),
                                name='h2h_kernel')
    self.bias_h = tf.Variable(tf.zeros([5 * hidden_dim], dtype), name='h2h_bias')
    self.dnd = DND(dict_len, input_dim, hidden_dim, kernel, batch_size, dtype)

  def step(self, x, h, c, encoding_on, retrieval_on=True):
    """Read the DND with x, step the cell, write (x, c) where `encoding_on`.

    Returns:
      (`Step`, the DND's `Read`).
    """
    read = self.dnd.get_memory(x, retrieval_on)
    out = cell_step(x, h, c, self.kernel_x, self.bias_x, self.kernel_h, self.bias_h, read.value)
    self.dnd.save_memory(x, out.c, encoding_on)
    return out, read
