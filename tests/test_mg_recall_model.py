"""multigrid_memory/mnist_recall/model.py: spec 3.2's architecture (parameter and tensor
counts per layer), shapes, the summed loss, gradients reaching every variable."""
import numpy as np
import pytest
import tensorflow as tf

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
