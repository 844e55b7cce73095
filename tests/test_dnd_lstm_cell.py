"""dnd_lstm/model/dnd_lstm.py: the cell step against numpy, gradients, init, the DND in the loop."""
import numpy as np
import tensorflow as tf
from kernel_testing import assert_close, max_jacobian_error

from dnd_lstm.model.dnd_lstm import DNDLSTM, cell_step


def np_sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


def np_step(x, h, c, wx, bx, wh, bh, memory):
  z = x @ wx + bx + h @ wh + bh
  H = h.shape[-1]
  f, i, o, r = (np_sigmoid(z[:, k * H:(k + 1) * H]) for k in range(4))
  g = np.tanh(z[:, 4 * H:])
  c_new = f * c + i * g + r * np.tanh(memory)
  return o * np.tanh(c_new), c_new, (f, i, o, r, g)


def inputs(rng, batch=3, dx=6, hidden=4):
  return [rng.normal(size=s) for s in ((batch, dx), (batch, hidden), (batch, hidden),
                                       (dx, 5 * hidden), (5 * hidden,), (hidden, 5 * hidden),
                                       (5 * hidden,), (batch, hidden))]


def test_step_matches_numpy_in_float64_and_float32():
  args = inputs(np.random.default_rng(0))
  h, c, gates = np_step(*args)
  for dtype, tol in ((tf.float64, 1e-12), (tf.float32, 2e-6)):
    out = cell_step(*[tf.constant(a, dtype) for a in args])
    assert out.h.dtype == dtype
    assert_close(out.h, h, rtol=tol, atol=tol)
    assert_close(out.c, c, rtol=tol, atol=tol)
    for name, expected in zip('fiorg', gates):
      assert_close(getattr(out, name), expected, rtol=tol, atol=tol)
    assert_close(out.m, np.tanh(args[-1]), rtol=tol, atol=tol)


def test_gradients_of_the_step():
  args = inputs(np.random.default_rng(1), batch=2, dx=3, hidden=2)
  loss = lambda *a: tf.reduce_sum(cell_step(*a).h ** 2) + tf.reduce_sum(cell_step(*a).c)
  assert max_jacobian_error(loss, args) < 1e-6


def test_per_agent_weights_match_shared_ones():
  rng = np.random.default_rng(3)
  x, h, c, wx, bx, wh, bh, memory = inputs(rng, batch=2)
  shared = cell_step(*[tf.constant(a) for a in (x, h, c, wx, bx, wh, bh, memory)])
  tiled = [np.stack([a, a]) for a in (wx, bx, wh, bh)]
  per_agent = cell_step(tf.constant(x), tf.constant(h), tf.constant(c),
                        *[tf.constant(a) for a in tiled], tf.constant(memory))
  for name in Step_fields():
    assert_close(getattr(per_agent, name), getattr(shared, name), rtol=1e-12, atol=1e-12)


def Step_fields():
  from dnd_lstm.model.dnd_lstm import Step
  return Step._fields


def test_init_orthogonal_zero_biases_and_parameter_count():
  cell = DNDLSTM(64, 32, dict_len=100, seeds=[0, 1])
  for agent in range(2):
    wx = cell.kernel_x.numpy()[agent]            # [64, 160]: the original's 160 x 64, transposed
    assert_close(wx @ wx.T, np.eye(64), atol=1e-5)
    wh = cell.kernel_h.numpy()[agent]            # [32, 160]
    assert_close(wh @ wh.T, np.eye(32), atol=1e-5)
  assert not np.allclose(cell.kernel_x.numpy()[0], cell.kernel_x.numpy()[1])
  assert np.array_equal(cell.kernel_x.numpy()[0], DNDLSTM(64, 32, 100, seeds=0).kernel_x.numpy()[0])
  assert np.all(cell.bias_x.numpy() == 0) and np.all(cell.bias_h.numpy() == 0)
  # The cell's share of the original's 15,779 per agent (the A2C heads add 2 x 33 + 33 = 99).
  assert sum(int(np.prod(v.shape)) for v in cell.trainable_variables) == 2 * (15779 - 99)
  single_bias = DNDLSTM(64, 32, dict_len=100, seeds=0, two_biases=False)
  assert sum(int(np.prod(v.shape)) for v in single_bias.trainable_variables) == 15779 - 99 - 160


def test_memory_enters_the_same_step_and_is_written_after_the_read():
  cell = DNDLSTM(4, 3, dict_len=5, dtype=tf.float64, seeds=1)
  x = tf.constant(np.random.default_rng(2).normal(size=(1, 4)))
  h = c = tf.zeros([1, 3], tf.float64)
  first, read = cell.step(x, h, c, encoding_on=True)
  assert not read.found.numpy()[0]               # its own memory is not there yet
  assert np.all(first.m.numpy() == 0)
  second, read = cell.step(x, h, c, encoding_on=False)
  assert read.found.numpy()[0] and int(read.index.numpy()[0]) == 0
  assert_close(second.m, np.tanh(first.c.numpy()))
  # Same gates (they do not see the memory); the cell state gains r * tanh(m).
  assert_close(second.r, first.r)
  assert_close(second.c - first.c, first.r * np.tanh(first.c.numpy()))
  assert int(cell.dnd.count.numpy()[0]) == 1
