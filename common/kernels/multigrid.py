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


def upsample2(x):
  """Nearest-neighbour x2: each pixel copied into a 2x2 block. `[B, H, W, C]` -> `[B, 2H, 2W, C]`."""
  return tf.repeat(tf.repeat(x, 2, axis=1), 2, axis=2)


def downsample2(x):
  """2x2 max-pooling, stride 2, VALID. `[B, H, W, C]` -> `[B, H/2, W/2, C]`."""
  return tf.nn.max_pool2d(x, ksize=2, strides=2, padding='VALID')


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
  z = tf.nn.conv2d(tf.concat([x, state.h], axis=-1), kernel, strides=1, padding='SAME') + bias
  i, j, f, o = tf.split(z, 4, axis=-1)
  c = tf.sigmoid(f + forget_bias) * state.c + tf.sigmoid(i) * tf.tanh(j)
  return ConvLSTMState(c, tf.tanh(c) * tf.sigmoid(o))


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


def batch_norm_train(x, gamma, beta, epsilon=BN_EPSILON):
  """`tf.contrib.layers.batch_norm(center, scale)` in training mode, as the original
  always runs it: per channel over every other axis, biased variance (spec 2.8).

  Args:
    x: `[N, H, W, C]` (a writer's whole sequence as `[T B, H, W, C]`, or a reader's `[B, ...]`).
    gamma, beta: `[C]`.
  """
  mean, variance = tf.nn.moments(x, axes=list(range(x.shape.rank - 1)))
  return (x - mean) * tf.math.rsqrt(variance + epsilon) * gamma + beta


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
