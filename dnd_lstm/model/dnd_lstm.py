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

Shapes: `B` agents, `Dx` input width, `H` hidden width. Each agent has weights
of its own (a leading `[B]` axis on every variable), so B independent runs of
different seeds train side by side in one graph.
"""
import collections

import tensorflow as tf

from common import seeding

from dnd_lstm.model.dnd import DND

GATES = ('f', 'i', 'o', 'r', 'g')  # the order of the five blocks of z
# Every per-step quantity of one step, by name (the trace mode's fields).
Step = collections.namedtuple('Step', ('h', 'c', 'f', 'i', 'o', 'r', 'g', 'm'))


def batch_linear(x, kernel, bias):
  """x W + b with one W per agent (`kernel [B, Din, Dout]`, `bias [B, Dout]`) or a
  shared one (`[Din, Dout]`, `[Dout]`). Args: x `[B, Din]`. Returns `[B, Dout]`."""
  if kernel.shape.rank == 2:
    return tf.matmul(x, kernel) + bias
  return tf.squeeze(tf.matmul(x[:, None, :], kernel), 1) + bias


def cell_step(x, h, c, kernel_x, bias_x, kernel_h, bias_h, memory):
  """One DND-LSTM step given the retrieved memory.

  Args:
    x: `[B, Dx]` input; h, c: `[B, H]` previous state.
    kernel_x: `[Dx, 5H]` or per agent `[B, Dx, 5H]`; bias_x: `[5H]` or `[B, 5H]`;
    kernel_h: `[H, 5H]` or `[B, H, 5H]`; bias_h: `[5H]` or `[B, 5H]`.
    memory: `[B, H]` the retrieved value (zeros for none).
  Returns:
    `Step` (h, c and the gates f, i, o, r, the candidate g and m = tanh(memory),
    each `[B, H]`).
  """
  return projected_step(batch_linear(x, kernel_x, bias_x), h, c, kernel_h, bias_h,
                        tf.tanh(memory))


def projected_step(x_projected, h, c, kernel_h, bias_h, m):
  """`cell_step` given the input's share of z, `x W_x + b_x` (`[B, 5H]`), and
  m = tanh(memory) (`[B, H]`), which a trial computes for all its steps at once."""
  z = x_projected + batch_linear(h, kernel_h, bias_h)
  hidden = h.shape[-1]
  gates = tf.sigmoid(z[:, :4 * hidden])          # f, i, o, r: one op for the four sigmoids
  f, i, o, r = tf.split(gates, 4, axis=-1)
  g = tf.tanh(z[:, 4 * hidden:])
  c_new = f * c + i * g + r * m
  return Step(o * tf.tanh(c_new), c_new, f, i, o, r, g, m)


def time_linear(x, kernel, bias):
  """x_t W + b for every step, one W per agent: `x [B, T, Din]`, `kernel [B, Din, Dout]`,
  `bias [B, Dout]` -> `[B, T, Dout]`, as one batched matmul of [x, 1] with [W; b].

  The bias rides in the product, so its gradient is the product's contraction
  over T, like the kernel's: broadcasting it over T would sum its gradient with
  a reduction whose order depends on B (for B = 1 it becomes an outer-axis
  sum), and agents side by side would no longer equal single runs bit for bit.
  """
  ones = tf.ones(tf.concat([tf.shape(x)[:2], [1]], 0), x.dtype)
  return tf.matmul(tf.concat([x, ones], -1), tf.concat([kernel, bias[:, None, :]], 1))


PACKET_ALIGN = 16  # floats per widest SIMD packet (AVX-512) the CPU kernels use


def per_agent_blocks(function, x):
  """`function(x)` elementwise, with each agent's values in a block of its own
  padded to a multiple of PACKET_ALIGN.

  Eigen evaluates exp and log with SIMD packets and a scalar tail whose last
  bits can differ; a small per-agent row ([T] or [T, A] values) would land on
  a packet in one layout and on the tail in another, so agent b of a batch
  could differ from the same agent run alone. Padded blocks put every agent's
  values at the same offsets within packets whatever B is.

  Args:
    function: elementwise (tf.exp, tf.math.log, ...); x: `[B, ...]`.
  """
  shape = tf.shape(x)
  flat = tf.reshape(x, [shape[0], -1])
  size = flat.shape[1]
  padded = -(-size // PACKET_ALIGN) * PACKET_ALIGN
  out = function(tf.pad(flat, [[0, 0], [0, padded - size]], constant_values=1))
  return tf.reshape(out[:, :size], shape)


def project_inputs(x, kernel_x, bias_x):
  """x_t W_x + b_x for every step (`time_linear`): `[B, T, Dx]` -> `[B, T, 5H]`."""
  return time_linear(x, kernel_x, bias_x)


INIT_I2H, INIT_H2H, INIT_ACTOR, INIT_CRITIC = range(4)  # which matrix an init seed is for


def orthogonal(shape, seeds, which, dtype):
  """`[B, *shape]`: one orthogonal matrix per agent (Keras' `Orthogonal`, gain 1,
  on the whole matrix), each from its agent's run seed and `which` matrix alone."""
  return tf.stack([tf.keras.initializers.Orthogonal(
      seed=seeding.stream_seed(seed, seeding.MODEL, which) % 2 ** 31)(shape, dtype)
                   for seed in seeds])


class DNDLSTM(tf.Module):
  """The cell with its DND (`i2h`, `h2h` as the original's two Linear layers).

  Args:
    input_dim: Dx; hidden_dim: H; dict_len: the DND's capacity; kernel: its similarity.
    seeds: one run seed per agent (B = len(seeds)); agents run side by
      side, each with its own weights and DND. An int is one agent.
    dtype: tf.float32 or tf.float64 (for checks against references).
    two_biases: the original's two summed bias vectors (i2h and h2h), which under
      Adam move the effective bias about twice as fast (spec 9.9); False keeps
      the h2h bias at 0 and out of the trainable variables.
    **dnd_options: policy, k, delta, eviction (see `DND`).
  """

  def __init__(self, input_dim, hidden_dim, dict_len, kernel='l2', seeds=(0,),
               dtype=tf.float32, two_biases=True, name='dnd_lstm', **dnd_options):
    super().__init__(name=name)
    seeds = [seeds] if isinstance(seeds, int) else list(seeds)
    batch = len(seeds)
    self.input_dim, self.hidden_dim, self.two_biases = input_dim, hidden_dim, two_biases
    width = 5 * hidden_dim
    self.kernel_x = tf.Variable(orthogonal([input_dim, width], seeds, INIT_I2H, dtype),
                                name='i2h_kernel')
    self.bias_x = tf.Variable(tf.zeros([batch, width], dtype), name='i2h_bias')
    self.kernel_h = tf.Variable(orthogonal([hidden_dim, width], seeds, INIT_H2H, dtype),
                                name='h2h_kernel')
    self.bias_h = tf.Variable(tf.zeros([batch, width], dtype), trainable=two_biases,
                              name='h2h_bias')
    self.dnd = DND(dict_len, input_dim, hidden_dim, kernel, batch, dtype, **dnd_options)

  def step(self, x, h, c, encoding_on, retrieval_on=True):
    """Read the DND with x, step the cell, write (x, c) where `encoding_on`.

    Returns:
      (`Step`, the DND's `Read`).
    """
    read = self.dnd.get_memory(x, retrieval_on)
    out = cell_step(x, h, c, self.kernel_x, self.bias_x, self.kernel_h, self.bias_h, read.value)
    self.dnd.save_memory(x, out.c, encoding_on)
    return out, read

  def trial(self, x, h, c, encoding_on, retrieval_on=True):
    """T steps of `step`, with the T reads (which see the store before the trial's
    only write, at its last step) and the input projections done at once.

    Args:
      x: `[B, T, Dx]`; h, c: `[B, H]`; encoding_on: bool `[]` or `[B]`, whether the
      last step writes.
    Returns:
      (list of T `Step`s, the DND's `Read` with `[B, T]` fields).
    """
    reads = self.dnd.get_memories(x, retrieval_on)
    # Everything that does not depend on the recurrence is done for all T at once,
    # and each variable is read once (fewer ops: faster to trace and to run).
    projected = tf.unstack(project_inputs(x, self.kernel_x, self.bias_x), axis=1)
    memories = tf.unstack(tf.tanh(reads.value), axis=1)
    kernel_h, bias_h = tf.convert_to_tensor(self.kernel_h), tf.convert_to_tensor(self.bias_h)
    steps = []
    for x_projected, m in zip(projected, memories):  # T is small and static: unrolled
      out = projected_step(x_projected, h, c, kernel_h, bias_h, m)
      h, c = out.h, out.c
      steps.append(out)
    self.dnd.save_memory(x[:, -1], c, encoding_on)
    return steps, reads
