"""common/kernels/multigrid.py against numpy references: the ConvLSTM cell (and its
gradients), resampling, the pyramid gathers, residuals, batch norm, initialisers,
and layer-by-layer over a sequence = step-by-step through the layers."""
import numpy as np
import pytest
import tensorflow as tf
from kernel_testing import assert_close, max_jacobian_error

from common.kernels import multigrid as mg


def np_conv_same(x, kernel):
  """3x3 SAME convolution (cross-correlation, as tf.nn.conv2d) in numpy."""
  b, h, w, _ = x.shape
  padded = np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)])
  out = np.zeros((b, h, w, kernel.shape[-1]))
  for dy in range(3):
    for dx in range(3):
      out += np.einsum('bhwi,io->bhwo', padded[:, dy:dy + h, dx:dx + w], kernel[dy, dx])
  return out


def sigmoid(x):
  return 1 / (1 + np.exp(-x))


def np_conv_lstm(x, c, h, kernel, bias):
  z = np_conv_same(np.concatenate([x, h], -1), kernel) + bias
  i, j, f, o = np.split(z, 4, axis=-1)
  c = sigmoid(f + 1.0) * c + sigmoid(i) * np.tanh(j)
  return c, np.tanh(c) * sigmoid(o)


def cell_inputs(rng, b=2, size=6, c_in=3, c_out=2):
  return (rng.normal(size=(b, size, size, c_in)), rng.normal(size=(b, size, size, c_out)),
          rng.normal(size=(b, size, size, c_out)), rng.normal(size=(3, 3, c_in + c_out, 4 * c_out)),
          rng.normal(size=(4 * c_out,)))


@pytest.mark.parametrize('dtype, tol', [(tf.float64, 1e-12), (tf.float32, 2e-5)])
def test_conv_lstm_matches_numpy(dtype, tol):
  x, c, h, kernel, bias = cell_inputs(np.random.default_rng(0))
  state = mg.conv_lstm_step(tf.constant(x, dtype), mg.ConvLSTMState(tf.constant(c, dtype),
                                                                    tf.constant(h, dtype)),
                            tf.constant(kernel, dtype), tf.constant(bias, dtype))
  expected_c, expected_h = np_conv_lstm(x, c, h, kernel, bias)
  assert_close(state.c, expected_c, rtol=tol, atol=tol)
  assert_close(state.h, expected_h, rtol=tol, atol=tol)


def test_conv_lstm_gradients():
  x, c, h, kernel, bias = cell_inputs(np.random.default_rng(1), b=1, size=3, c_in=2, c_out=1)

  def loss(x_, c_, h_, k_, b_):
    state = mg.conv_lstm_step(x_, mg.ConvLSTMState(c_, h_), k_, b_)
    return tf.reduce_sum(state.h ** 2) + tf.reduce_sum(state.c)
  assert max_jacobian_error(loss, [x, c, h, kernel, bias]) < 1e-6


def test_sequence_equals_steps():
  rng = np.random.default_rng(2)
  xs = [tf.constant(rng.normal(size=(2, 3, 3, 2))) for _ in range(4)]
  kernel, bias = mg.conv_lstm_params(2, 3, seed=[0, 1], dtype=tf.float64)
  zero = mg.ConvLSTMState(tf.zeros([2, 3, 3, 3], tf.float64), tf.zeros([2, 3, 3, 3], tf.float64))
  outputs, last = mg.conv_lstm_sequence(xs, zero, kernel, bias)
  c, h = np.zeros((2, 3, 3, 3)), np.zeros((2, 3, 3, 3))
  for x, out in zip(xs, outputs):
    c, h = np_conv_lstm(x.numpy(), c, h, kernel.numpy(), bias.numpy())
    assert_close(out, h, rtol=1e-12, atol=1e-12)
  assert_close(last.c, c, rtol=1e-12, atol=1e-12)


def test_resampling():
  x = np.arange(2 * 4 * 4 * 1, dtype=np.float64).reshape(2, 4, 4, 1)
  up = mg.upsample2(tf.constant(x)).numpy()
  assert up.shape == (2, 8, 8, 1)
  np.testing.assert_array_equal(up[:, ::2, ::2], x)
  np.testing.assert_array_equal(up[:, 1::2, 1::2], x)
  down = mg.downsample2(tf.constant(x)).numpy()
  np.testing.assert_array_equal(down, x.reshape(2, 2, 2, 2, 2, 1).max(axis=(2, 4)))


def test_gather_order_and_missing_parts():
  rng = np.random.default_rng(3)
  pyramid = [tf.constant(rng.normal(size=(1, s, s, c))) for s, c in ((3, 2), (6, 2), (12, 2))]
  middle = mg.gather(pyramid, 1).numpy()
  assert middle.shape == (1, 6, 6, 6)
  np.testing.assert_array_equal(middle[..., 0:2], mg.upsample2(pyramid[0]).numpy())  # up first
  np.testing.assert_array_equal(middle[..., 2:4], pyramid[1].numpy())                # then same
  np.testing.assert_array_equal(middle[..., 4:6], mg.downsample2(pyramid[2]).numpy())  # then down
  assert mg.gather(pyramid, 0).shape == (1, 3, 3, 4)       # no coarser grid
  assert mg.gather(pyramid, 2).shape == (1, 12, 12, 4)     # no finer grid
  grown = mg.gather(pyramid, 3).numpy()                    # a new finer grid: up alone
  np.testing.assert_array_equal(grown, mg.upsample2(pyramid[2]).numpy())
  with pytest.raises(ValueError, match='no input'):
    mg.gather(pyramid, 5)
  # Reverse: 2 grids from 3 keep the finest scales, reading j = 1 + k.
  assert mg.gather_reverse(pyramid, 2, 0).shape == (1, 6, 6, 6)
  assert mg.gather_reverse(pyramid, 2, 1).shape == (1, 12, 12, 4)


def test_residuals():
  a, b = tf.ones([1, 2, 2, 2]), 2 * tf.ones([1, 2, 2, 5])
  out = mg.residual_extra(a, b).numpy()
  assert out.shape == (1, 2, 2, 5)
  assert np.all(out[..., :2] == 3) and np.all(out[..., 2:] == 2)   # zeros after a's channels
  assert np.all(mg.residual(b, b).numpy() == 4)
  with pytest.raises(ValueError, match='Ca <= Cb'):
    mg.residual_extra(b, a)


def test_batch_norm_uses_batch_statistics_with_biased_variance():
  x = np.random.default_rng(4).normal(2.0, 3.0, size=(6, 3, 3, 4))
  gamma, beta = np.array([1.0, 2.0, 0.5, 1.0]), np.array([0.0, 1.0, -1.0, 0.5])
  out = mg.batch_norm_train(tf.constant(x), tf.constant(gamma), tf.constant(beta)).numpy()
  mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
  assert_close(out, (x - mean) / np.sqrt(var + 1e-3) * gamma + beta, rtol=1e-10, atol=1e-10)


def test_initialisers():
  kernel, bias = mg.conv_lstm_params(5, 3, seed=[1, 2])
  assert kernel.shape == (3, 3, 8, 12) and np.all(bias.numpy() == 0)
  limit = (6 / (9 * 8 + 9 * 12)) ** 0.5
  assert np.abs(kernel.numpy()).max() <= limit and np.abs(kernel.numpy()).max() > 0.9 * limit
  assert kernel.shape.num_elements() + bias.shape.num_elements() == 9 * 8 * 12 + 12
  weights, biases = mg.conv_params(4, 6, seed=[3, 4])
  d = 1 / np.sqrt(36)
  assert np.abs(weights.numpy()).max() <= d and np.abs(biases.numpy()).max() <= d
  assert np.abs(biases.numpy()).max() > 0  # biases are random too, not zeros


def test_layer_by_layer_equals_step_by_step():
  """Two writer layers on a 2-grid pyramid: each layer over the whole sequence, then
  the next, gives exactly what stepping every layer at each time step gives."""
  rng = np.random.default_rng(5)
  steps, batch = 3, 2
  inputs = [[tf.constant(rng.normal(size=(batch, 3, 3, 1)), tf.float32),
             tf.constant(rng.normal(size=(batch, 6, 6, 1)), tf.float32)] for _ in range(steps)]
  channels = (1, 2, 3)
  params = {}
  for layer in (1, 2):
    for level in (0, 1):
      gathered = 2 * channels[layer - 1]  # each grid of a 2-grid pyramid gathers two parts
      params[layer, level] = mg.conv_lstm_params(gathered, channels[layer],
                                                 seed=[layer, level], dtype=tf.float32)
  def zero(level, c):
    shape = [batch, 3 * 2 ** level, 3 * 2 ** level, c]
    return mg.ConvLSTMState(tf.zeros(shape), tf.zeros(shape))

  # Layer by layer.
  sequence = inputs
  for layer in (1, 2):
    per_level = []
    for level in (0, 1):
      xs = [mg.gather(pyramid, level) for pyramid in sequence]
      outs, _ = mg.conv_lstm_sequence(xs, zero(level, channels[layer]), *params[layer, level])
      per_level.append(outs)
    sequence = [[per_level[0][t], per_level[1][t]] for t in range(steps)]
  by_layer = sequence
  # Step by step.
  states = {(layer, level): zero(level, channels[layer]) for layer in (1, 2) for level in (0, 1)}
  by_step = []
  for t in range(steps):
    pyramid = inputs[t]
    for layer in (1, 2):
      new = []
      for level in (0, 1):
        states[layer, level] = mg.conv_lstm_step(mg.gather(pyramid, level), states[layer, level],
                                                 *params[layer, level])
        new.append(states[layer, level].h)
      pyramid = new
    by_step.append(pyramid)
  for t in range(steps):
    for level in (0, 1):
      np.testing.assert_array_equal(by_layer[t][level].numpy(), by_step[t][level].numpy())


def test_legacy_resize_indices_and_pyramid():
  assert mg.legacy_nearest_indices(28, 3).tolist() == [0, 9, 18]
  assert mg.legacy_nearest_indices(28, 6).tolist() == [0, 4, 9, 14, 18, 23]
  assert mg.legacy_nearest_indices(28, 12).tolist() == [0, 2, 4, 7, 9, 11, 14, 16, 18, 21, 23, 25]
  images = np.random.default_rng(6).integers(0, 256, size=(2, 28, 28, 1)).astype(np.float32)
  pyramid = mg.image_pyramid(tf.constant(images))
  assert [p.shape[1] for p in pyramid] == [3, 6, 12]
  np.testing.assert_array_equal(pyramid[0].numpy(), images[:, [0, 9, 18]][:, :, [0, 9, 18]])
  legacy = tf.compat.v1.image.resize_nearest_neighbor(images, [6, 6], align_corners=False,
                                                      half_pixel_centers=False)
  np.testing.assert_array_equal(pyramid[1].numpy(), legacy.numpy())


@pytest.mark.parametrize('integers', [True, False])
def test_downsample_gradient_is_max_pool_grad_and_compiles_under_xla(integers):
  rng = np.random.default_rng(7)
  x = rng.integers(0, 3, size=(3, 6, 8, 2)) if integers else rng.normal(size=(2, 12, 12, 5))
  x = tf.constant(x, tf.float32)  # small integers: many ties inside the 2x2 windows
  dy = tf.constant(rng.normal(size=(x.shape[0], x.shape[1] // 2, x.shape[2] // 2, x.shape[3])),
                   tf.float32)
  with tf.GradientTape(persistent=True) as tape:
    tape.watch(x)
    ours, tfs = mg.downsample2(x), tf.nn.max_pool2d(x, 2, 2, 'VALID')
  np.testing.assert_array_equal(ours.numpy(), tfs.numpy())
  np.testing.assert_array_equal(tape.gradient(ours, x, dy).numpy(), tape.gradient(tfs, x, dy).numpy())

  @tf.function(jit_compile=True)
  def gradient(value):
    with tf.GradientTape() as inner:
      inner.watch(value)
      loss = tf.reduce_sum(mg.downsample2(value) * dy)
    return inner.gradient(loss, value)
  np.testing.assert_array_equal(gradient(x).numpy(), tape.gradient(tfs, x, dy).numpy())


def test_memory_and_conv_layers():
  """memory_layer over a sequence = memory_layer_step at each step, c included;
  conv_layer's reverse grids read the finest inputs."""
  rng = np.random.default_rng(8)
  steps, batch = 3, 2
  pyramid = [tf.constant(rng.normal(size=(steps * batch, s, s, 2))) for s in (3, 6)]
  cells = [mg.conv_lstm_params(4, 3, [0, k], tf.float64) for k in range(2)]
  cells.append(mg.conv_lstm_params(2, 3, [0, 2], tf.float64))     # 12x12: fed by up(6x6) alone
  zero = mg.zero_states(batch, (3, 6, 12), 3, tf.float64)
  outputs, final, cs = mg.memory_layer(pyramid, zero, cells, steps)
  states = zero
  for t in range(steps):
    states, gates = mg.memory_layer_step([g[t * batch:(t + 1) * batch] for g in pyramid], states,
                                         cells)
    for k in range(3):
      np.testing.assert_array_equal(outputs[k][t * batch:(t + 1) * batch].numpy(), states[k].h.numpy())
      np.testing.assert_array_equal(cs[k][t * batch:(t + 1) * batch].numpy(), states[k].c.numpy())
  assert outputs[2].shape == (steps * batch, 12, 12, 3)
  looped = tf.function(lambda: mg.memory_layer(pyramid, zero, cells, steps, loop='while'))()
  for a, b in zip(tf.nest.flatten((outputs, final, cs)), tf.nest.flatten(looped)):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0, atol=1e-13)
  with pytest.raises(ValueError, match="loop='scan'"):
    mg.memory_layer(pyramid, zero, cells, steps, loop='scan')
  np.testing.assert_array_equal(final[2].c.numpy(), states[2].c.numpy())
  assert all(((g.f.numpy() > 0) & (g.f.numpy() < 1)).all() for g in gates)
  grids = [tf.constant(rng.normal(size=(1, s, s, 1))) for s in (3, 6, 12)]
  params = [mg.conv_params(c_in, 1, [1, k], tf.float64) for k, c_in in enumerate((3, 2))]
  reverse = mg.conv_layer(grids, params, reverse=True, activation=None)
  assert [g.shape[1] for g in reverse] == [6, 12]
  np.testing.assert_allclose(reverse[1].numpy(), np_conv_same(
      np.concatenate([mg.upsample2(grids[1]).numpy(), grids[2].numpy()], -1), params[1][0].numpy())
      + params[1][1].numpy(), atol=1e-12)
  state_type = mg.writer_state_type([2, 3])
  assert state_type._fields == ('W1_0', 'W1_1', 'W2_0', 'W2_1', 'W2_2')
