"""multigrid_memory/mapping_localization/model.py: spec 3.1's architecture (parameter
and tensor counts per layer), against an independent numpy implementation in float64,
step-by-step = layer-by-layer, a chunked run = the whole-episode run (truncated BPTT's
forward pass), the summed loss and gradients."""
import numpy as np
import pytest
import tensorflow as tf

import multigrid_reference
from multigrid_memory.mapping_localization.model import LocalizationModel, localization_loss

# Spec 3.1: trainable parameters per layer.
SPEC_COUNTS = {'W1': 2336, 'W2': 3488, 'W3': 12768, 'W4': 23136, 'W5': 73984, 'W6': 129280,
               'W7': 147776, 'R1': 296, 'R2': 1160, 'R3': 2904, 'R4': 8088, 'R5': 18496,
               'R6': 46144, 'R7': 50768, 'R8': 50752, 'R9': 23104, 'R10': 18480, 'R11': 16176,
               'R12': 11552, 'R13': 9248, 'R14': 289}


@pytest.fixture(scope='module')
def model64():
  return LocalizationModel(seed=1, dtype=tf.float64)


def chunk(steps, batch, seed=0, dtype=tf.float64):
  """Observations and queries of the mapping task's form: one-hot channels 0 / 1,
  raw generic coordinates 14..36 on 2 / 3 (queries without them)."""
  rng = np.random.default_rng(seed)
  walls = rng.integers(0, 2, size=(2, steps * batch, 3, 3))
  inputs = np.stack([1 - walls[0], walls[0], *rng.integers(14, 37, size=(2, steps * batch, 1, 1))
                     .repeat(3, 2).repeat(3, 3)], -1).astype(np.float64)
  queries = np.stack([1 - walls[1], walls[1], 0 * walls[1], 0 * walls[1]], -1).astype(np.float64)
  return tf.constant(inputs, dtype), tf.constant(queries, dtype)


def test_parameter_and_tensor_counts_match_the_original():
  variables = LocalizationModel(seed=0).trainable_variables
  assert sum(int(v.shape.num_elements()) for v in variables) == 650225
  assert len(variables) == 130
  per_layer = {}
  for v in variables:
    layer = v.name.split('_')[0]
    per_layer[layer] = per_layer.get(layer, 0) + int(v.shape.num_elements())
  assert per_layer == SPEC_COUNTS


def test_matches_an_independent_numpy_implementation_in_float64(model64):
  steps, batch = 3, 2
  inputs, queries = chunk(steps, batch)
  weights = {v.name.split(':')[0]: v.numpy() for v in model64.trainable_variables}
  expected, states = multigrid_reference.localization(weights, inputs.numpy(), queries.numpy(),
                                                      steps)
  logits, final = model64(inputs, queries, model64.initial_state(batch))
  np.testing.assert_allclose(logits.numpy(), expected, rtol=1e-9, atol=1e-9)
  trace = model64.trace(inputs, queries, model64.initial_state(batch))
  for name, (cs, hs) in states.items():
    np.testing.assert_allclose(trace[f'{name}/c'].numpy(), cs, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(trace[f'{name}/h'].numpy(), hs, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(getattr(final, name).c.numpy(), cs[-1], rtol=1e-9, atol=1e-9)
  # A non-zero initial state (a later chunk of an episode) is used as given.
  initial = {name: (cs[-1], hs[-1]) for name, (cs, hs) in states.items()}
  expected2, _ = multigrid_reference.localization(weights, inputs.numpy(), queries.numpy(),
                                                  steps, initial)
  logits2, _ = model64(inputs, queries, final)
  np.testing.assert_allclose(logits2.numpy(), expected2, rtol=1e-9, atol=1e-9)
  assert not np.allclose(expected2, expected)


def test_step_by_step_writer_equals_layer_by_layer(model64):
  inputs, queries = chunk(4, 2, seed=1)
  state = model64.initial_state(2)
  by_layer, final = model64.write(inputs, state)
  by_step, final_steps, trace = model64.write_steps(inputs, state)
  for a, b in zip(tf.nest.flatten((by_layer, final)), tf.nest.flatten((by_step, final_steps))):
    np.testing.assert_array_equal(a.numpy(), b.numpy())
  values = model64.trace(inputs, queries, state)
  np.testing.assert_array_equal(values['logits'].numpy(), model64(inputs, queries, state)[0].numpy())
  assert values['W7_4/c'].shape == (4, 2, 48, 48, 16) and values['R14_0'].shape == (8, 48, 48, 1)
  assert values['prediction'].shape == (8, 2304)
  gates = values['W6_3/i'].numpy()
  assert ((gates > 0) & (gates < 1)).all()


def test_chunked_run_equals_the_whole_run(model64):
  """Truncated BPTT's forward: chunks of 3 + 2 steps with the state carried = 5 steps."""
  batch = 2
  inputs, queries = chunk(5, batch, seed=2)
  whole, whole_final = model64(inputs, queries, model64.initial_state(batch))
  first, state = model64(inputs[:3 * batch], queries[:3 * batch], model64.initial_state(batch))
  second, final = model64(inputs[3 * batch:], queries[3 * batch:], tf.nest.map_structure(
      tf.stop_gradient, state))
  np.testing.assert_allclose(tf.concat([first, second], 0).numpy(), whole.numpy(), rtol=1e-12,
                             atol=1e-12)
  for a, b in zip(tf.nest.flatten(final), tf.nest.flatten(whole_final)):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12)


def test_summed_loss_gradients_and_float32():
  model = LocalizationModel(seed=2)
  inputs, queries = chunk(2, 3, seed=3, dtype=tf.float32)
  targets = tf.cast(tf.random.stateless_uniform([6, 2304], [0, 1]) < 0.01, tf.float32)
  with tf.GradientTape() as tape:
    logits, _ = model(inputs, queries, model.initial_state(3))
    loss = localization_loss(logits, targets)
  per_entry = tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits)
  assert float(loss) == pytest.approx(float(tf.reduce_sum(per_entry)), rel=1e-6)
  assert logits.dtype == tf.float32 and logits.shape == (6, 2304)
  grads = tape.gradient(loss, model.trainable_variables)
  assert not [v.name for v, g in zip(model.trainable_variables, grads) if g is None]
  assert all(np.isfinite(g.numpy()).all() for g in grads)
  assert float(loss) == pytest.approx(6 * 2304 * np.log(2), rel=0.2)   # near chance at the start


@pytest.mark.parametrize('grids, parameters, tensors, side', [(4, 622497, 126, 24),
                                                            (3, 481681, 110, 12)])
def test_reduced_model_on_fewer_grids(grids, parameters, tensors, side):
  """GRIDS < 5 (not in the original): the same layers cut to the coarsest grids, against
  the numpy reference cut the same way, in float64; 19 writer cells for 3 grids."""
  model = LocalizationModel(seed=3, dtype=tf.float64, grids=grids)
  variables = model.trainable_variables
  assert sum(int(v.shape.num_elements()) for v in variables) == parameters
  assert len(variables) == tensors and model.memory_size == side
  steps, batch = 2, 2
  inputs, queries = chunk(steps, batch, seed=5)
  weights = {v.name.split(':')[0]: v.numpy() for v in variables}
  expected, states = multigrid_reference.localization(weights, inputs.numpy(), queries.numpy(),
                                                      steps, grids=grids)
  state = model.initial_state(batch)
  assert len(state) == sum(min(g, grids) for g in (2, 2, 3, 3, 4, 4, 5))   # 19 cells for 3
  logits, final = model(inputs, queries, state)
  assert logits.shape == (steps * batch, side * side)
  np.testing.assert_allclose(logits.numpy(), expected, rtol=1e-9, atol=1e-9)
  for name, (cs, _) in states.items():
    np.testing.assert_allclose(getattr(final, name).c.numpy(), cs[-1], rtol=1e-9, atol=1e-9)
  with pytest.raises(ValueError, match='grids=6'):
    LocalizationModel(grids=6)


def test_the_seed_fixes_the_weights():
  a, b, c = LocalizationModel(seed=4), LocalizationModel(seed=4), LocalizationModel(seed=5)
  for x, y in zip(a.trainable_variables, b.trainable_variables):
    np.testing.assert_array_equal(x.numpy(), y.numpy())
  assert not np.array_equal(a.writer[0][0][0].numpy(), c.writer[0][0][0].numpy())
