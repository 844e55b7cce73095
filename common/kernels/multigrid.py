"""Building blocks of the multigrid neural memory (Huynh et al. 2020; trihuynh88/
multigrid_mem; multigrid_memory spec 2), as pure functions.

A layer is a pyramid: a list of NHWC grids indexed by level, level 0 the
coarsest, side 3 * 2^level (3, 6, 12, 24, 48), one channel count per layer.
A grid of the next layer gathers its input from the previous pyramid
(`gather`): the coarser grid upsampled x2, the same grid, the finer grid
max-pooled /2, in that order, each only where it exists. A writer grid runs a
convolutional LSTM (`conv_lstm_step`) on its gathered input; a reader grid a
3x3 convolution (`conv_relu`). Residuals (`residual`, `residual_extra`)
replace entries of a pyramid before the next layer reads it. The MNIST model
normalises with batch statistics always (`batch_norm_train`).

Shapes: `B` batch, `H x W` a grid, `C` channels.
"""
import collections

import tensorflow as tf

FORGET_BIAS = 1.0  # tf.contrib.rnn.Conv2DLSTMCell's constant on the forget gate
BN_EPSILON = 1e-3  # tf.contrib.layers.batch_norm's default

# The recurrent state of one ConvLSTM cell: c and h, `[B, H, W, C]` each (the
# original's LSTMStateTuple(c, h)).
ConvLSTMState = collections.namedtuple('ConvLSTMState', ('c', 'h'))
# A ConvLSTM step's gates after their nonlinearities, `[B, H, W, C]` each: input
# sigmoid(i), candidate tanh(j), forget sigmoid(f + 1), output sigmoid(o).
Gates = collections.namedtuple('Gates', ('i', 'j', 'f', 'o'))


def cell_name(layer, level):
  """The name of writer cell (layer, level): 'W<layer>_<level>', layers from 1, levels
  from 0 (the coarsest), as the model's variables are named."""
  return f'W{layer}_{level}'


def writer_state_type(grids_per_layer, name='WriterState'):
  """A namedtuple class holding one `ConvLSTMState` per writer cell, its fields
  named `cell_name(layer, level)` in layer then level order.

  Args:
    grids_per_layer: the number of grids of writer layers 1, 2, ...
  """
  return collections.namedtuple(name, [cell_name(layer, level)
                                       for layer, count in enumerate(grids_per_layer, start=1)
                                       for level in range(count)])


def zero_states(batch_size, sizes, channels, dtype=tf.float32):
  """Zero `ConvLSTMState`s of one layer: one `[B, S, S, channels]` pair per size S."""
  states = []
  for size in sizes:
    zero = tf.zeros([batch_size, size, size, channels], dtype)
    states.append(ConvLSTMState(zero, zero))
  return states


def upsample2(x):
  """Nearest-neighbour x2: each pixel copied into a 2x2 block. `[B, H, W, C]` -> `[B, 2H, 2W, C]`."""
  return tf.repeat(tf.repeat(x, 2, axis=1), 2, axis=2)


@tf.custom_gradient
def downsample2(x):
  """2x2 max-pooling, stride 2, VALID. `[B, H, W, C]` -> `[B, H/2, W/2, C]`.

  The gradient is MaxPoolGrad's (all of it to the first maximum of each window in
  row-major order, ties included), written in plain ops so that the step also
  compiles under XLA with op determinism on, where MaxPoolGrad has no kernel.
  """
  y = tf.nn.max_pool2d(x, ksize=2, strides=2, padding='VALID')

  def grad(dy):
    batch, (height, width, channels) = tf.shape(x)[0], x.shape[1:]
    blocks = tf.reshape(x, [batch, height // 2, 2, width // 2, 2, channels])
    blocks = tf.reshape(tf.transpose(blocks, [0, 1, 3, 5, 2, 4]),
                        [batch, height // 2, width // 2, channels, 4])
    is_max = tf.equal(blocks, y[..., None])
    first = tf.logical_and(is_max, tf.equal(tf.cumsum(tf.cast(is_max, tf.int32), axis=-1), 1))
    dx = tf.where(first, dy[..., None], tf.zeros_like(blocks))
    dx = tf.reshape(dx, [batch, height // 2, width // 2, channels, 2, 2])
    return tf.reshape(tf.transpose(dx, [0, 1, 4, 2, 5, 3]), tf.shape(x))
  return y, grad


def gather(pyramid, level):
  """The input of grid `level` of the next layer (spec 2.2).

  Args:
    pyramid: list of `[B, 3*2^j, 3*2^j, C]` grids of the previous layer, coarsest first.
    level: j, the previous layer's index this grid reads (may be one past its end:
      a new, finer grid is fed by the upsampled coarser one alone).
  Returns:
    `[B, S, S, C']`: concat on channels of [up(pyramid[j-1]), pyramid[j],
    down(pyramid[j+1])], each part only where that grid exists.
  """
  count = len(pyramid)
  parts = []
  if 0 <= level - 1 < count:
    parts.append(upsample2(pyramid[level - 1]))
  if 0 <= level < count:
    parts.append(pyramid[level])
  if 0 <= level + 1 < count:
    parts.append(downsample2(pyramid[level + 1]))
  if not parts:
    raise ValueError(f'grid {level} has no input in a pyramid of {count} grids')
  return parts[0] if len(parts) == 1 else tf.concat(parts, axis=-1)


def gather_reverse(pyramid, n_out, k):
  """Input of grid k of a "reverse" reader layer with `n_out` grids, which keeps
  the finest `n_out` scales: `gather` at j = (len(pyramid) - n_out) + k (spec 2.6)."""
  return gather(pyramid, len(pyramid) - n_out + k)


def conv_lstm_step_gates(x, state, kernel, bias, forget_bias=FORGET_BIAS):
  """`conv_lstm_step`, also returning its `Gates` (after their nonlinearities)."""
  z = tf.nn.conv2d(tf.concat([x, state.h], axis=-1), kernel, strides=1, padding='SAME') + bias
  i, j, f, o = tf.split(z, 4, axis=-1)
  gates = Gates(tf.sigmoid(i), tf.tanh(j), tf.sigmoid(f + forget_bias), tf.sigmoid(o))
  c = gates.f * state.c + gates.i * gates.j
  return ConvLSTMState(c, tf.tanh(c) * gates.o), gates


def conv_lstm_step(x, state, kernel, bias, forget_bias=FORGET_BIAS):
  """One step of `tf.contrib.rnn.Conv2DLSTMCell` with its defaults (spec 2.3).

  Z = conv2d([x, h], kernel, SAME) + bias, split on channels as i, j, f, o;
  c = sigmoid(f + forget_bias) c + sigmoid(i) tanh(j); h = tanh(c) sigmoid(o).
  No peepholes, no normalisation.

  Args:
    x: `[B, H, W, Cin]`; state: `ConvLSTMState` of `[B, H, W, Cout]`.
    kernel: `[3, 3, Cin + Cout, 4 Cout]`; bias: `[4 Cout]`.
  Returns:
    the new `ConvLSTMState` (its h is the output).
  """
  return conv_lstm_step_gates(x, state, kernel, bias, forget_bias)[0]


def conv_lstm_sequence(inputs, state, kernel, bias):
  """`conv_lstm_step` over a sequence (the original's `dynamic_rnn`, time-major).

  Args:
    inputs: list of T `[B, H, W, Cin]`; state: the initial `ConvLSTMState`.
  Returns:
    (list of T outputs h, the last `ConvLSTMState`).
  """
  outputs = []
  for x in inputs:  # T is small and static: unrolled
    state = conv_lstm_step(x, state, kernel, bias)
    outputs.append(state.h)
  return outputs, state


def memory_layer(inputs, states, cells, steps, loop='unroll'):
  """A multigrid memory layer (the writer, spec 2.4) over a whole sequence, the
  original's way: for each output grid k, gather its input from the previous
  pyramid for every step at once, then run its ConvLSTM over time.

  Args:
    inputs: the previous layer's pyramid, a list of time-major `[T B, S_j, S_j, Cin]`.
    states: the initial `ConvLSTMState` of each output grid k, `[B, S_k, S_k, C]`
      (as many as the layer has grids; grid k reads input index k).
    cells: (kernel `[3, 3, Cin_k + C, 4 C]`, bias `[4 C]`) of each output grid.
    steps: T.
    loop: 'unroll' (a static unroll over time: the default, faster to run here,
      see the README's benchmark) or 'while' (one `tf.while_loop` per grid:
      a graph whose size does not grow with T; the same numbers).
  Returns:
    (outputs: list of `[T B, S_k, S_k, C]` h sequences, final: list of the last
    `ConvLSTMState`s, cs: list of `[T B, S_k, S_k, C]` c sequences).
  """
  if loop not in LOOPS:
    raise ValueError(f'loop={loop!r}: use one of {", ".join(LOOPS)}')
  outputs, final, cs = [], [], []
  for level, (state, (kernel, bias)) in enumerate(zip(states, cells)):
    run = _unrolled if loop == 'unroll' else _while_loop
    hs, c_all, state = run(gather(inputs, level), state, kernel, bias, steps)
    outputs.append(hs)
    cs.append(c_all)
    final.append(state)
  return outputs, final, cs


LOOPS = ('unroll', 'while')


def _unrolled(x_all, state, kernel, bias, steps):
  """One grid's ConvLSTM over `[T B, S, S, Cin]`, unrolled; (h `[T B, ...]`, c, last state)."""
  hs, c_list = [], []
  for x in tf.split(x_all, steps, axis=0):
    state = conv_lstm_step(x, state, kernel, bias)
    hs.append(state.h)
    c_list.append(state.c)
  return tf.concat(hs, axis=0), tf.concat(c_list, axis=0), state


def _while_loop(x_all, state, kernel, bias, steps):
  """`_unrolled` as a `tf.while_loop` over the time axis."""
  xs = tf.reshape(x_all, [steps, -1, *x_all.shape[1:]])           # [T, B, S, S, Cin]
  out_shape = [steps, *state.h.shape]

  def body(t, c, h, h_seq, c_seq):
    new = conv_lstm_step(xs[t], ConvLSTMState(c, h), kernel, bias)
    return t + 1, new.c, new.h, h_seq.write(t, new.h), c_seq.write(t, new.c)

  arrays = [tf.TensorArray(state.h.dtype, size=steps, element_shape=state.h.shape)
            for _ in range(2)]
  _, c, h, h_seq, c_seq = tf.while_loop(lambda t, *_: t < steps, body,
                                        (tf.constant(0), state.c, state.h, *arrays))
  flat = lambda seq: tf.reshape(seq.stack(), [out_shape[0] * out_shape[1], *out_shape[2:]])
  return flat(h_seq), flat(c_seq), ConvLSTMState(c, h)


def memory_layer_step(inputs, states, cells):
  """One time step of `memory_layer`, the step-by-step form.

  Args:
    inputs: the previous layer's pyramid at this step, list of `[B, S_j, S_j, Cin]`.
    states, cells: as `memory_layer`.
  Returns:
    (list of the new `ConvLSTMState` of each grid (h is the output), list of its `Gates`).
  """
  new, gates = [], []
  for level, (state, (kernel, bias)) in enumerate(zip(states, cells)):
    state, gate = conv_lstm_step_gates(gather(inputs, level), state, kernel, bias)
    new.append(state)
    gates.append(gate)
  return new, gates


def conv_layer(inputs, params, reverse=False, activation=tf.nn.relu):
  """A multigrid conv layer (the reader, spec 2.5; "reverse", spec 2.6).

  Args:
    inputs: the previous pyramid, list of `[B, S_j, S_j, Cin]`, coarsest first.
    params: (kernel `[3, 3, Cin_k, Cout]`, bias `[Cout]`) of each output grid k.
    reverse: grid k reads input index (len(inputs) - len(params)) + k (the finest
      scales are kept) instead of k.
    activation: applied after the convolution (None: the logits layer).
  Returns:
    list of `[B, S_k, S_k, Cout]`.
  """
  offset = len(inputs) - len(params) if reverse else 0
  outputs = []
  for k, (kernel, bias) in enumerate(params):
    y = conv(gather(inputs, offset + k), kernel, bias)
    outputs.append(activation(y) if activation is not None else y)
  return outputs


def glorot_uniform(shape, seed, dtype=tf.float32):
  """Glorot-uniform over a whole `[kh, kw, in, out]` kernel (TF1's `get_variable`
  default): limit sqrt(6 / (kh kw in + kh kw out)). `seed`: a stateless `[2]` seed."""
  receptive = 1
  for size in shape[:-2]:
    receptive *= size
  limit = (6.0 / (receptive * (shape[-2] + shape[-1]))) ** 0.5
  return tf.random.stateless_uniform(shape, seed, -limit, limit, dtype)


def conv_lstm_params(c_in, c_out, seed, dtype=tf.float32):
  """(kernel `[3, 3, c_in + c_out, 4 c_out]` Glorot-uniform, bias `[4 c_out]` zeros);
  9 (c_in + c_out) 4 c_out + 4 c_out parameters."""
  return (glorot_uniform([3, 3, c_in + c_out, 4 * c_out], seed, dtype),
          tf.zeros([4 * c_out], dtype))


def fan_in_uniform(shape, fan_in, seed, dtype=tf.float32):
  """U(-d, d) with d = 1 / sqrt(fan_in): the original's `_conv_variable` / `_fc_variable`
  for weights and biases alike."""
  limit = 1.0 / fan_in ** 0.5
  return tf.random.stateless_uniform(shape, seed, -limit, limit, dtype)


def conv_params(c_in, c_out, seed, dtype=tf.float32):
  """(kernel `[3, 3, c_in, c_out]`, bias `[c_out]`), both U(+-1/sqrt(9 c_in))."""
  seed = tf.convert_to_tensor(seed, tf.int64)
  return (fan_in_uniform([3, 3, c_in, c_out], 9 * c_in, seed, dtype),
          fan_in_uniform([c_out], 9 * c_in, seed + [0, 1], dtype))


def conv(x, kernel, bias):
  """3x3 convolution, stride 1, SAME, plus bias. `[B, H, W, Cin]` -> `[B, H, W, Cout]`."""
  return tf.nn.conv2d(x, kernel, strides=1, padding='SAME') + bias


def conv_relu(x, kernel, bias):
  """A reader grid: ReLU(`conv`) (spec 2.5)."""
  return tf.nn.relu(conv(x, kernel, bias))


def residual(a, b):
  """a + b (`create_residual_conn`), same shapes."""
  return a + b


def residual_extra(a, b):
  """a zero-padded on channels up to b's count (the zeros after a's channels), plus b
  (`create_residual_conn_extra`). a: `[..., Ca]`, b: `[..., Cb]`, Ca <= Cb."""
  extra = b.shape[-1] - a.shape[-1]
  if extra < 0:
    raise ValueError(f'residual_extra needs Ca <= Cb, got {a.shape[-1]} > {b.shape[-1]}')
  padding = [[0, 0]] * (a.shape.rank - 1) + [[0, extra]]
  return tf.pad(a, padding) + b


def batch_norm_moments(x):
  """Per-channel mean and biased variance of `[N, H, W, C]` over every other axis."""
  return tf.nn.moments(x, axes=list(range(x.shape.rank - 1)))



def batch_norm_moments_across_replicas(x):
  """`batch_norm_moments` of the global batch when `x` is one replica's equal share
  of it under a `tf.distribute` strategy, in two passes as `tf.nn.moments`: the
  replicas' means all-reduced, then their mean squared deviations from it), so a
  mirrored run normalises as the single-device run; with one replica, or outside
  a replica context, the plain `batch_norm_moments` of x."""
  context = tf.distribute.get_replica_context()
  if context is None or context.num_replicas_in_sync == 1:
    return batch_norm_moments(x)
  axes = list(range(x.shape.rank - 1))
  mean = context.all_reduce(tf.distribute.ReduceOp.MEAN, tf.reduce_mean(x, axis=axes))
  variance = context.all_reduce(tf.distribute.ReduceOp.MEAN,
                                tf.reduce_mean(tf.math.squared_difference(x, mean), axis=axes))
  return mean, variance

def batch_norm_apply(x, mean, variance, gamma, beta, epsilon=BN_EPSILON):
  """(x - mean) / sqrt(variance + epsilon) gamma + beta, per channel (`[C]` each)."""
  return (x - mean) * tf.math.rsqrt(variance + epsilon) * gamma + beta


def batch_norm_train(x, gamma, beta, epsilon=BN_EPSILON):
  """`tf.contrib.layers.batch_norm(center, scale)` in training mode, as the original
  always runs it: per channel over every other axis, biased variance (spec 2.8).

  Args:
    x: `[N, H, W, C]` (a writer's whole sequence as `[T B, H, W, C]`, or a reader's `[B, ...]`).
    gamma, beta: `[C]`.
  """
  mean, variance = batch_norm_moments(x)
  return batch_norm_apply(x, mean, variance, gamma, beta, epsilon)


def legacy_nearest_indices(in_size, out_size):
  """Source rows (or columns) of TF1's `resize_nearest_neighbor` without
  align_corners or half-pixel centres: floor(i * in / out) in float32 (spec 8.4).
  TF2's `tf.image.resize(..., 'nearest')` samples at half-pixel centres instead."""
  import numpy as np
  scale = np.float32(in_size) / np.float32(out_size)
  return np.floor(np.arange(out_size, dtype=np.float32) * scale).astype(np.int32)


def legacy_resize_nearest(images, size):
  """TF1's nearest-neighbour resize of `[N, H, W, C]` to `[N, size, size, C]` (the
  original's `tf.image.resize_images` for the MNIST pyramid: 28 -> 3, 6, 12)."""
  rows = legacy_nearest_indices(images.shape[1], size)
  cols = legacy_nearest_indices(images.shape[2], size)
  return tf.gather(tf.gather(images, rows, axis=1), cols, axis=2)


def image_pyramid(images, sizes=(3, 6, 12)):
  """The input pyramid of an image, coarsest first: `legacy_resize_nearest` to each size."""
  return [legacy_resize_nearest(images, size) for size in sizes]
