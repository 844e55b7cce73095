"""multigrid_memory/mnist_recall/model.py: spec 3.2's architecture (parameter and tensor
counts per layer), shapes, the summed loss, gradients reaching every variable."""
import numpy as np
import pytest
import tensorflow as tf

import multigrid_reference
from multigrid_memory.mnist_recall.model import MNISTRecallModel, recall_loss

# Spec 3.2: trainable parameters per layer, batch-norm gamma and beta included.
SPEC_COUNTS = {'W1': 2808, 'W2': 5832, 'W3': 15120, 'W4': 23184, 'W5': 60192, 'R1': 288,
               'R2': 2052, 'R3': 4104, 'R4': 8136, 'R5': 16272, 'R10': 32400, 'R11': 16272,
               'R12': 11616, 'R13': 9312, 'R14': 2910, 'fc': 910}


@pytest.fixture(scope='module')
def model():
  return MNISTRecallModel(batch_size=3, seq_len=4, seed=1)


def test_parameter_and_tensor_counts_match_the_original(model):
  variables = model.trainable_variables
  assert sum(int(v.shape.num_elements()) for v in variables) == 211408
  assert len(variables) == 166
  per_layer = {}
  for v in variables:
    layer = v.name.split('_')[0]
    per_layer[layer] = per_layer.get(layer, 0) + int(v.shape.num_elements())
  assert per_layer == SPEC_COUNTS


def test_forward_shapes_summed_loss_and_gradients(model):
  rng = np.random.default_rng(0)
  images = tf.constant(rng.integers(0, 256, size=(4 * 3, 28, 28, 1)).astype(np.float32))
  query, target = images[2 * 3:3 * 3], tf.constant([1, 5, 9])
  written = model.write(images)
  assert [len(layer) for layer in written] == [3] * 5
  assert [grid.shape[1:] for grid in written[4]] == [(3, 3, 16), (6, 6, 16), (12, 12, 16)]
  assert written[0][2].shape[0] == 12                     # T B rows, time-major
  with tf.GradientTape() as tape:
    logits = model(images, query)
    loss = recall_loss(logits, target)
  assert logits.shape == (3, 10)
  per_example = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=target, logits=logits)
  assert float(loss) == pytest.approx(float(tf.reduce_sum(per_example)))   # a sum, not a mean
  grads = tape.gradient(loss, model.trainable_variables)
  missing = [v.name for v, g in zip(model.trainable_variables, grads) if g is None]
  assert not missing
  assert all(np.isfinite(g.numpy()).all() for g in grads)


def test_the_seed_fixes_the_weights():
  a, b = MNISTRecallModel(2, 3, seed=4), MNISTRecallModel(2, 3, seed=4)
  c = MNISTRecallModel(2, 3, seed=5)
  for x, y, z in zip(a.trainable_variables, b.trainable_variables, c.trainable_variables):
    np.testing.assert_array_equal(x.numpy(), y.numpy())
  assert not np.array_equal(a.writer[0][0][0].numpy(), c.writer[0][0][0].numpy())


def weights_by_name(model):
  return {v.name.split(':')[0]: v.numpy() for v in model.trainable_variables}


def small_batch(steps, batch, dtype, seed=0):
  rng = np.random.default_rng(seed)
  images = rng.integers(0, 256, size=(steps * batch, 28, 28, 1)).astype(np.float64)
  return tf.constant(images, dtype), tf.constant(images[batch:2 * batch], dtype)


def test_matches_an_independent_numpy_implementation_in_float64():
  steps, batch = 3, 2
  model = MNISTRecallModel(batch_size=batch, seq_len=steps, seed=2, dtype=tf.float64)
  images, query = small_batch(steps, batch, tf.float64)
  expected, states = multigrid_reference.mnist_recall(weights_by_name(model), images.numpy(),
                                                      query.numpy(), steps)
  np.testing.assert_allclose(model(images, query).numpy(), expected, rtol=1e-9, atol=1e-9)
  trace = model.trace(images, query)
  for name, (cs, hs) in states.items():
    np.testing.assert_allclose(trace[f'{name}/c'].numpy(), cs, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(trace[f'{name}/h'].numpy(), hs, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize('dtype', [tf.float32, tf.float64])
def test_step_by_step_writer_equals_layer_by_layer(dtype):
  steps, batch = 4, 3
  model = MNISTRecallModel(batch_size=batch, seq_len=steps, seed=3, dtype=dtype)
  images, query = small_batch(steps, batch, dtype, seed=1)
  statistics = {}
  by_layer = model.write(images, statistics=statistics)
  by_step, trace = model.write_steps(images, statistics)
  for layer_a, layer_b in zip(by_layer, by_step):
    for a, b in zip(layer_a, layer_b):
      np.testing.assert_array_equal(a.numpy(), b.numpy())
  values = model.trace(images, query)
  np.testing.assert_array_equal(values['logits'].numpy(), model(images, query).numpy())
  np.testing.assert_array_equal(values['W5_2/output'].numpy().reshape(by_layer[4][2].shape),
                                by_layer[4][2].numpy())
  assert values['W5_2/c'].shape == (steps, batch, 12, 12, 16)
  assert values['R14_0'].shape == (batch, 3, 3, 10) and values['W1_0/bn_mean'].shape == (4,)
  gates = values['W2_1/f'].numpy()
  assert ((gates > 0) & (gates < 1)).all()
  assert values['logits'].dtype == dtype


def test_while_loop_writer_equals_the_unrolled_one():
  """loop='while' (compiled) gives the unrolled writer's logits and gradients."""
  steps, batch = 3, 2
  images, query = small_batch(steps, batch, tf.float64, seed=2)
  target = tf.constant([3, 7])
  results = []
  for loop in ('unroll', 'while'):
    model = MNISTRecallModel(batch_size=batch, seq_len=steps, seed=6, dtype=tf.float64, loop=loop)

    @tf.function
    def forward_backward():
      with tf.GradientTape() as tape:
        loss = recall_loss(model(images, query), target)
      return loss, tape.gradient(loss, model.trainable_variables)
    results.append(forward_backward())
  for a, b in zip(tf.nest.flatten(results[0]), tf.nest.flatten(results[1])):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12)


def test_moving_statistics_switch():
  steps, batch = 2, 2
  images, query = small_batch(steps, batch, tf.float32)
  faithful = MNISTRecallModel(batch, steps, seed=0)
  fixed = MNISTRecallModel(batch, steps, seed=0, moving_statistics=True)
  assert len(faithful.variables) == 166 and len(fixed.trainable_variables) == 166
  assert len(fixed.variables) == 166 + 2 * (15 + 26)     # mean, variance per batch norm (41)
  # The original: batch statistics whatever `training` says, and no averages kept.
  np.testing.assert_array_equal(faithful(images, query, training=False).numpy(),
                                faithful(images, query).numpy())
  # The fix: training updates the averages (decay 0.999); inference uses them.
  before = fixed(images, query, training=False).numpy()
  statistics = {}
  fixed.write(images, training=False, statistics=statistics)
  np.testing.assert_array_equal(statistics['W1_0'][0].numpy(), np.zeros(4))   # initial mean 0
  np.testing.assert_array_equal(statistics['W1_0'][1].numpy(), np.ones(4))    # initial variance 1
  fixed.write(images, training=True, statistics=statistics)                   # one update
  mean, variance = fixed.moving['W1_0']
  np.testing.assert_allclose(mean.numpy(), 0.001 * statistics['W1_0'][0].numpy(), rtol=1e-5)
  np.testing.assert_allclose(variance.numpy(), 0.999 + 0.001 * statistics['W1_0'][1].numpy(),
                             rtol=1e-6)
  assert not np.allclose(fixed(images, query, training=False).numpy(), before)
