"""Tests for the NTM/DNC model code: circuits, accessors, heads, controller,
loss / bit errors (ntm_dnc/core/agent.py) and TorchRMSprop (common/optim.py).

Spec: /work/shared/specs/ntm_dnc.md sections 1.5, 2, 3, 4.3, 5.
"""
import math

import numpy as np
import pytest
import tensorflow as tf

import ntm_dnc.constants
from common import config
from common.optim import TorchRMSprop
from ntm_dnc.core.agent import bit_errors, count_parameters, sequence_loss
from ntm_dnc.core.memory import MEMORY_INIT
from ntm_dnc.utils import factory

# Calling a circuit eagerly makes Keras build it; its weights already exist.
pytestmark = pytest.mark.filterwarnings('ignore:`build\\(\\)` was called on layer:UserWarning')

SMALL = ('--hidden_dim=8', '--mem_hei=8', '--mem_wid=5', '--batch_size=3')
SMALL_COPY = ('--len_word=3', '--min_num_words=1', '--max_num_words=3')  # max_time 8


def build(cfg, *flags, seed=0):
  """(args, env, circuit) as SLAgent builds them."""
  args = config.parse(ntm_dnc.constants, ['prog', f'--config={cfg}', *flags])
  _agent, env_type, circuit_type = factory.resolve(args)
  env = factory.EnvDict[env_type](args)
  args.input_dim, args.output_dim = env.state_shape, env.action_dim
  tf.keras.utils.set_random_seed(seed)
  circuit = factory.CircuitDict[circuit_type](args)
  return args, env, circuit


def build_small(kind, *flags, seed=0):
  if kind == 'ntm':
    return build(1, *SMALL, *SMALL_COPY, *flags, seed=seed)
  return build(2, *SMALL, *flags, seed=seed)


def copy_weights(src, dst):
  assert len(src.trainable_variables) == len(dst.trainable_variables)
  for a, b in zip(src.trainable_variables, dst.trainable_variables):
    assert a.shape == b.shape
    b.assign(a)


def batch_of(env, seed=1):
  np.random.seed(seed)
  return env.reset().state1


def assert_nested_close(xs, ys, atol):
  for x, y in zip(tf.nest.flatten(xs), tf.nest.flatten(ys)):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=atol, rtol=0)


# -- parameter counts and shapes (spec 1.5) -------------------------------------------------

def _shapes(layer):
  return {name: tuple(getattr(layer, name).shape) for name in ('kernel', 'bias')}


def test_ntm_parameter_count_and_shapes():
  args, _, circuit = build(1)
  assert (args.input_dim, args.output_dim) == (10, 8)
  assert count_parameters(circuit) == 63060
  assert sum(int(np.prod(v.shape)) for v in circuit.trainable_variables) == 63060
  cell = circuit.controller.in_2_hid
  assert tuple(cell.weight_ih.shape) == (30, 400)    # torch [400, 30]
  assert tuple(cell.weight_hh.shape) == (100, 400)
  assert tuple(cell.bias_ih.shape) == tuple(cell.bias_hh.shape) == (400,)
  head_units = {'key': 20, 'beta': 1, 'gate': 1, 'shift': 3, 'gamma': 1}
  write, read = circuit.accessor.write_heads, circuit.accessor.read_heads
  for name, units in {**head_units, 'erase': 20, 'add': 20}.items():
    assert _shapes(getattr(write, 'hid_2_' + name)) == {'kernel': (100, units), 'bias': (units,)}
  for name, units in head_units.items():
    assert _shapes(getattr(read, 'hid_2_' + name)) == {'kernel': (100, units), 'bias': (units,)}
  assert not hasattr(read, 'hid_2_erase') and not hasattr(read, 'hid_2_add')
  assert _shapes(circuit.hid_to_out) == {'kernel': (120, 8), 'bias': (8,)}


def test_dnc_parameter_count_and_shapes():
  args, _, circuit = build(2)
  assert (args.input_dim, args.output_dim) == (6, 5)
  assert count_parameters(circuit) == 44236
  cell = circuit.controller.in_2_hid
  assert tuple(cell.weight_ih.shape) == (70, 256)
  assert tuple(cell.weight_hh.shape) == (64, 256)
  assert tuple(cell.bias_ih.shape) == tuple(cell.bias_hh.shape) == (256,)
  assert count_parameters(cell) == 34816
  write, read = circuit.accessor.write_heads, circuit.accessor.read_heads
  for name, units in {'key': 16, 'beta': 1, 'alloc_gate': 1, 'write_gate': 1, 'erase': 16,
                      'add': 16}.items():
    assert _shapes(getattr(write, 'hid_2_' + name)) == {'kernel': (64, units), 'bias': (units,)}
  for name, units in {'key': 64, 'beta': 4, 'free_gate': 4, 'read_mode': 12}.items():
    assert _shapes(getattr(read, 'hid_2_' + name)) == {'kernel': (64, units), 'bias': (units,)}
  assert count_parameters(write) == 3315
  assert count_parameters(read) == 5460
  assert _shapes(circuit.hid_to_out) == {'kernel': (128, 5), 'bias': (5,)}
  assert count_parameters(circuit.hid_to_out) == 645


def test_torch_default_init_ranges():
  _, _, circuit = build(2)
  cell = circuit.controller.in_2_hid
  for v in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh):
    assert np.abs(v.numpy()).max() <= 1 / math.sqrt(64)
  for v in (circuit.hid_to_out.kernel, circuit.hid_to_out.bias):
    assert np.abs(v.numpy()).max() <= 1 / math.sqrt(128)
    assert np.abs(v.numpy()).max() > 0.5 / math.sqrt(128)  # not Glorot / zeros


# -- unroll vs scan vs step-by-step ---------------------------------------------------------------

def manual_unroll(circuit, inputs):
  state = circuit.initial_state(inputs.shape[1])
  logits, states = [], []
  for x_t in tf.unstack(inputs):
    y_t, state = circuit(x_t, state)
    logits.append(y_t)
    states.append(state.accessor)
  return tf.stack(logits), tf.nest.map_structure(lambda *xs: tf.stack(xs), *states)


@pytest.mark.parametrize('kind, flags', [
    ('ntm', ()),
    ('ntm', ('--num_read_heads=2', '--num_write_heads=2')),
    ('dnc', ()),
    ('dnc', ('--num_write_heads=2', '--num_read_heads=2')),
])
def test_unroll_modes_agree_with_stepping(kind, flags):
  _, env, circuit = build_small(kind, *flags)
  inputs = tf.constant(batch_of(env).input)
  unrolled, trace_unrolled = circuit.unroll(inputs, unroll=True, trace=True)
  scanned, trace_scanned = circuit.unroll(inputs, unroll=False, trace=True)
  stepped, trace_stepped = manual_unroll(circuit, inputs)
  assert unrolled.shape == (inputs.shape[0], inputs.shape[1], env.action_dim)
  assert type(trace_unrolled) is type(trace_scanned) is type(trace_stepped)
  np.testing.assert_allclose(unrolled.numpy(), scanned.numpy(), atol=1e-6, rtol=0)
  np.testing.assert_allclose(unrolled.numpy(), stepped.numpy(), atol=2e-5, rtol=0)
  assert_nested_close(trace_unrolled, trace_scanned, atol=1e-6)
  assert_nested_close(trace_unrolled, trace_stepped, atol=2e-5)
  # Without trace the same logits come back.
  np.testing.assert_allclose(circuit.unroll(inputs, unroll=False).numpy(), scanned.numpy(),
                             atol=1e-6, rtol=0)
  # Steps are not trivially identical (the test would be vacuous otherwise).
  assert np.abs(np.diff(unrolled.numpy(), axis=0)).max() > 1e-3


def test_unroll_in_tf_function_matches_eager():
  _, env, circuit = build_small('dnc')
  inputs = tf.constant(batch_of(env).input)
  eager = circuit.unroll(inputs, unroll=False)
  graph = tf.function(lambda x: circuit.unroll(x, unroll=False))(inputs)
  np.testing.assert_allclose(eager.numpy(), graph.numpy(), atol=1e-6, rtol=0)


# -- initial states (spec 2.7, 3.4) --------------------------------------------------------------

@pytest.mark.parametrize('one_hot', [True, False])
@pytest.mark.parametrize('kind', ['ntm', 'dnc'])
def test_initial_state(kind, one_hot):
  args, _, circuit = build_small(kind, '--num_write_heads=2', '--num_read_heads=3',
                                 f'--one_hot_init_weights={one_hot}')
  B, H, N, W, R, Hw = 4, 8, 8, 5, 3, 2
  state = circuit.initial_state(B)
  eps = np.float32(1e-6)
  assert MEMORY_INIT == pytest.approx(1e-6)
  np.testing.assert_array_equal(state.controller.h.numpy(), np.zeros((B, H)))
  np.testing.assert_array_equal(state.controller.c.numpy(), np.zeros((B, H)))
  np.testing.assert_array_equal(state.read_vec.numpy(), np.full((B, R * W), eps))
  acc = state.accessor
  np.testing.assert_array_equal(acc.memory.numpy(), np.full((B, N, W), eps))
  expected_w = np.zeros((B, Hw, N))
  expected_r = np.zeros((B, R, N))
  if one_hot:
    expected_w[..., 0] = 1
    expected_r[..., 0] = 1
  np.testing.assert_array_equal(acc.write_weights.numpy(), expected_w)
  np.testing.assert_array_equal(acc.read_weights.numpy(), expected_r)
  if kind == 'dnc':
    np.testing.assert_array_equal(acc.usage.numpy(), np.zeros((B, N)))
    np.testing.assert_array_equal(acc.link.numpy(), np.zeros((B, Hw, N, N)))
    np.testing.assert_array_equal(acc.precedence.numpy(), np.zeros((B, Hw, N)))
  else:
    assert not hasattr(acc, 'usage')


def test_dnc_first_step_frees_slot_zero_and_allocates_elsewhere():
  """Spec 3.4: step (1) marks slot 0 used, step (2) frees it by prod_r(1 - f_r)."""
  _, env, circuit = build_small('dnc', '--persist_alloc_usage=False')
  inputs = tf.constant(batch_of(env).input)
  _, trace = circuit.unroll(inputs[:1], trace=True)
  usage = trace.usage.numpy()[0]  # carried usage == usage after free when Q1 is off
  assert np.all(usage[:, 0] > 0) and np.all(usage[:, 0] < 1)
  np.testing.assert_array_equal(usage[:, 1:], 0)


# -- controller / output clamps -----------------------------------------------------------------

def test_controller_clamps_h_not_c():
  _, _, circuit = build_small('dnc', '--clip_value=0.01')
  ctrl = circuit.controller
  rng = np.random.default_rng(0)
  B = 3
  state = ctrl.initial_state(B)
  clamped_any = False
  for _ in range(3):
    x = tf.constant(rng.normal(size=(B, 6)) * 3, tf.float32)
    r = tf.constant(rng.normal(size=(B, ctrl.in_2_hid.input_dim - 6)), tf.float32)
    raw_h, raw_c = ctrl.in_2_hid(tf.concat([x, r], -1), state)
    h, new_state = ctrl(x, r, state)
    np.testing.assert_allclose(h.numpy(), np.clip(raw_h.numpy(), -0.01, 0.01), atol=1e-6)
    np.testing.assert_array_equal(new_state.h.numpy(), h.numpy())
    np.testing.assert_allclose(new_state.c.numpy(), raw_c.numpy(), atol=1e-6)
    assert np.abs(h.numpy()).max() <= np.float32(0.01)
    clamped_any |= np.abs(raw_h.numpy()).max() > 0.01
    state = new_state
  assert clamped_any
  assert np.abs(state.c.numpy()).max() > 0.05  # c is not clamped


def test_output_logits_clamped():
  _, env, circuit = build_small('ntm', '--clip_value=0.01')
  inputs = tf.constant(batch_of(env).input)
  state = circuit.initial_state(inputs.shape[1])
  logits, state = circuit(inputs[0], state)
  raw = circuit.hid_to_out(tf.concat([state.controller.h, state.read_vec], -1)).numpy()
  np.testing.assert_allclose(logits.numpy(), np.clip(raw, -0.01, 0.01), atol=1e-7)
  assert np.abs(raw).max() > 0.01
  all_logits = circuit.unroll(inputs).numpy()
  assert np.abs(all_logits).max() == pytest.approx(0.01)
  # Default clip 20: ordinary logits are untouched.
  _, _, circuit = build_small('ntm')
  logits, state = circuit(inputs[0], circuit.initial_state(inputs.shape[1]))
  raw = circuit.hid_to_out(tf.concat([state.controller.h, state.read_vec], -1)).numpy()
  np.testing.assert_allclose(logits.numpy(), raw, atol=1e-6)


# -- loss and bit errors (spec 4.3) -----------------------------------------------------------------

def np_loss(logits, target, mask, time):
  probs = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
  bce = -(target * np.log(probs + 1e-12) + (1 - target) * np.log(1 - probs + 1e-12))
  B, D = target.shape[1], target.shape[2]
  return (mask * bce).sum() / (B * time * D) / B


def loss_data(seed=0, T_pad=9, T=7, B=4, D=3, scale=3.0):
  rng = np.random.default_rng(seed)
  logits = (rng.normal(size=(T_pad, B, D)) * scale).astype(np.float32)
  target = rng.integers(0, 2, size=(T_pad, B, D)).astype(np.float32)
  mask = np.zeros((T_pad, B, D), np.float32)
  for b in range(B):
    start = rng.integers(1, T - 2)
    mask[start:T, b] = 1
  return logits, target, mask, T


def test_sequence_loss_matches_numpy_with_natural_time():
  logits, target, mask, T = loss_data()
  loss = sequence_loss(tf.constant(logits), tf.constant(target), tf.constant(mask),
                       tf.constant(T, tf.float32))
  assert float(loss) == pytest.approx(np_loss(logits, target, mask, T), rel=1e-5)
  # The natural T, not the padded one, is the denominator.
  assert float(loss) != pytest.approx(np_loss(logits, target, mask, logits.shape[0]), rel=1e-3)
  # A Python int time works too.
  assert float(sequence_loss(logits, target, mask, T)) == pytest.approx(float(loss), rel=1e-6)


def test_sequence_loss_zero_logits_is_ln2():
  _, target, mask, T = loss_data(seed=1)
  B, D = target.shape[1], target.shape[2]
  loss = sequence_loss(tf.zeros(target.shape), target, mask, T)
  assert float(loss) == pytest.approx(math.log(2) * mask.sum() / (B * T * D) / B, rel=1e-6)


def test_sequence_loss_ignores_masked_out_positions():
  logits, target, mask, T = loss_data(seed=2)
  off = mask == 0
  logits2, target2 = logits.copy(), target.copy()
  rng = np.random.default_rng(5)
  logits2[off] = rng.normal(size=off.sum()) * 10
  target2[off] = 1 - target2[off]
  for logit_loss in (False, True):
    grads = []
    losses = []
    for lg, tg in ((logits, target), (logits2, target2)):
      lg = tf.constant(lg)
      with tf.GradientTape() as tape:
        tape.watch(lg)
        loss = sequence_loss(lg, tf.constant(tg), tf.constant(mask), T, logit_loss=logit_loss)
      losses.append(float(loss))
      grads.append(tape.gradient(loss, lg).numpy())
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)
    for g in grads:
      np.testing.assert_array_equal(g[off], 0)
      assert np.abs(g[~off]).min() > 0
    np.testing.assert_allclose(grads[0][~off], grads[1][~off], rtol=1e-5)


def test_logit_loss_matches_tf_and_probability_version():
  logits, target, mask, T = loss_data(seed=3, scale=2.0)
  B, D = target.shape[1], target.shape[2]
  logit_loss = sequence_loss(logits, target, mask, T, logit_loss=True)
  xent = tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=logits)
  expected = float(tf.reduce_sum(mask * xent)) / (B * T * D) / B
  assert float(logit_loss) == pytest.approx(expected, rel=1e-6)
  prob_loss = sequence_loss(logits, target, mask, T, logit_loss=False)
  assert float(prob_loss) == pytest.approx(float(logit_loss), rel=1e-4)


def test_saturated_wrong_output_differs_between_loss_versions():
  """Spec 4.3: target 0 at logit +20 costs -log(1e-12) in probability space, 20 in logits."""
  target = np.zeros((1, 1, 1), np.float32)
  mask = np.ones((1, 1, 1), np.float32)
  logits = np.full((1, 1, 1), 20.0, np.float32)
  assert float(sequence_loss(logits, target, mask, 1)) == pytest.approx(-math.log(1e-12), rel=1e-3)
  assert float(sequence_loss(logits, target, mask, 1, logit_loss=True)) == pytest.approx(20.0)
  target = np.ones((1, 1, 1), np.float32)
  for logit_loss in (False, True):
    assert float(sequence_loss(-logits, target, mask, 1, logit_loss)) == pytest.approx(20.0,
                                                                                        rel=1e-4)


def test_bit_errors():
  logits, target, mask, _ = loss_data(seed=4)
  B = target.shape[1]
  expected = (((logits > 0).astype(np.float32) != target) * mask).sum() / B
  assert float(bit_errors(logits, target, mask)) == pytest.approx(expected)
  # Perfect outputs on the mask: zero errors whatever happens elsewhere.
  perfect = np.where(target > 0, 5.0, -5.0).astype(np.float32)
  perfect[mask == 0] = np.where(target[mask == 0] > 0, -5.0, 5.0)
  assert float(bit_errors(perfect, target, mask)) == 0.0
  assert float(bit_errors(-perfect, target, mask)) == pytest.approx(mask.sum() / B)


# -- TorchRMSprop ----------------------------------------------------------------------------------

def test_torch_rmsprop_matches_numpy():
  lr, alpha, eps = 0.01, 0.9, 1e-3
  rng = np.random.default_rng(0)
  init = [rng.normal(size=(3, 2)).astype(np.float32), rng.normal(size=(4,)).astype(np.float32)]
  variables = [tf.Variable(x) for x in init]
  opt = TorchRMSprop(variables, lr=lr, alpha=alpha, eps=eps)
  params = [x.astype(np.float64) for x in init]
  square = [np.zeros_like(x) for x in params]
  keras_style = [x.astype(np.float64) for x in init]
  keras_square = [np.zeros_like(x) for x in params]
  for step in range(3):
    # Mixed magnitudes so that where eps sits matters.
    grads = [(rng.normal(size=x.shape) * 10.0 ** rng.integers(-5, 1, size=x.shape))
             .astype(np.float32) for x in init]
    opt.apply_gradients([tf.constant(g) for g in grads], variables)
    for i, g in enumerate(grads):
      square[i] = alpha * square[i] + (1 - alpha) * g.astype(np.float64) ** 2
      params[i] = params[i] - lr * g / (np.sqrt(square[i]) + eps)
      keras_square[i] = alpha * keras_square[i] + (1 - alpha) * g.astype(np.float64) ** 2
      keras_style[i] = keras_style[i] - lr * g / np.sqrt(keras_square[i] + eps)
    for v, p, s, sa in zip(variables, params, square, opt.square_avg):
      np.testing.assert_allclose(v.numpy(), p, rtol=1e-5, atol=1e-6)
      np.testing.assert_allclose(sa.numpy(), s, rtol=1e-5, atol=1e-12)
  # Epsilon outside the sqrt is not the Keras rule.
  assert max(np.abs(v.numpy() - k).max() for v, k in zip(variables, keras_style)) > 1e-3


def test_torch_rmsprop_rejects_wrong_gradient_count():
  variables = [tf.Variable(tf.zeros(2)), tf.Variable(tf.zeros(3))]
  opt = TorchRMSprop(variables)
  with pytest.raises(ValueError):
    opt.apply_gradients([tf.zeros(2)], variables[:1])


def test_torch_rmsprop_in_tf_function():
  v = tf.Variable([1.0, -2.0])
  opt = tf.function(TorchRMSprop([v], lr=0.1, alpha=0.9, eps=1e-10).apply_gradients)
  opt([tf.constant([0.5, -0.5])], [v])
  # First step: s = 0.1 g^2, update = lr g / (sqrt(0.1) |g|) = lr sign(g) / sqrt(0.1).
  np.testing.assert_allclose(v.numpy(), [1.0 - 0.1 / math.sqrt(0.1), -2.0 + 0.1 / math.sqrt(0.1)],
                             rtol=1e-5)


# -- DNC quirk switches (spec 3.5) -------------------------------------------------------------------

def np_allocation(u, eps=1e-6):
  u = eps + (1 - eps) * u
  out = np.zeros_like(u)
  for b in range(u.shape[0]):
    order = np.argsort(u[b], kind='stable')
    prod = 1.0
    for k in order:
      out[b, k] = (1 - u[b, k]) * prod
      prod *= u[b, k]
  return out


def sigmoid(x):
  return 1 / (1 + np.exp(-x))


def _random_dnc_state(circuit, inputs, steps=3):
  state = circuit.initial_state(inputs.shape[1])
  for t in range(steps):
    _, state = circuit(inputs[t], state)
  return state.accessor


@pytest.mark.parametrize('num_write_heads', [1, 2])
def test_persist_alloc_usage_matches_hand_computation(num_write_heads):
  flags = (f'--num_write_heads={num_write_heads}',)
  _, env, circuit = build_small('dnc', *flags)
  accessor, params = circuit.accessor, circuit.params
  inputs = tf.constant(batch_of(env).input)
  state = _random_dnc_state(circuit, inputs)
  rng = np.random.default_rng(0)
  kernel, _ = accessor.fused_kernel()
  interface = tf.constant(rng.normal(size=(inputs.shape[1], kernel.shape[1])), tf.float32)

  write_if, read_if = accessor._split_interface(interface)
  wparts = {k: v.numpy().astype(np.float64)
            for k, v in accessor.write_heads._split(write_if).items()}
  rparts = {k: v.numpy().astype(np.float64)
            for k, v in accessor.read_heads._split(read_if).items()}
  u = state.usage.numpy().astype(np.float64)
  ww_prev = state.write_weights.numpy().astype(np.float64)
  wr_prev = state.read_weights.numpy().astype(np.float64)
  u = u + (1 - u) * (1 - np.prod(1 - ww_prev, axis=1))                       # (1)
  u_free = u * np.prod(1 - rparts['free_gate'] * wr_prev, axis=1)     # (2)
  gw, ga = wparts['write_gate'][..., 0], wparts['alloc_gate'][..., 0]  # _split activates
  content = accessor.write_heads._content_focus(
      accessor.write_heads._split(write_if), state.memory).numpy()

  results = {}
  for persist in (True, False):
    params.persist_alloc_usage = persist
    try:
      _, new_state = accessor.step(interface, state)
    finally:
      params.persist_alloc_usage = True
    results[persist] = new_state
    # Hand computation of (3b)/(3c).
    sim = u_free.copy()
    expected_ww = []
    for j in range(num_write_heads):
      a = np_allocation(sim)
      gate = gw[:, j:j + 1] if persist else ga[:, j:j + 1] * gw[:, j:j + 1]
      sim = sim + (1 - sim) * gate * a
      expected_ww.append(gw[:, j:j + 1] * (ga[:, j:j + 1] * a
                                           + (1 - ga[:, j:j + 1]) * content[:, j]))
    expected_usage = sim if persist else u_free
    np.testing.assert_allclose(new_state.usage.numpy(), expected_usage, atol=2e-6, rtol=1e-5)
    np.testing.assert_allclose(new_state.write_weights.numpy(), np.stack(expected_ww, 1),
                               atol=2e-6, rtol=1e-5)
  # With persist the carried usage is the simulated one, not the usage after free.
  assert np.abs(results[True].usage.numpy() - u_free).max() > 1e-3
  np.testing.assert_allclose(results[False].usage.numpy(), u_free, atol=2e-6)
  # Memory/links follow from the write weights: equal for one head, differ for two.
  if num_write_heads == 1:
    np.testing.assert_allclose(results[True].memory.numpy(), results[False].memory.numpy(),
                               atol=1e-6)


def test_persist_alloc_usage_changes_trajectory():
  _, env, c_true = build_small('dnc', '--persist_alloc_usage=True')
  _, _, c_false = build_small('dnc', '--persist_alloc_usage=False', seed=7)
  copy_weights(c_true, c_false)
  inputs = tf.constant(batch_of(env).input)
  y_true, s_true = c_true.unroll(inputs, trace=True)
  y_false, s_false = c_false.unroll(inputs, trace=True)
  # First step: same write (single head) but different carried usage.
  np.testing.assert_allclose(y_true[0].numpy(), y_false[0].numpy(), atol=1e-6)
  assert np.abs(s_true.usage[0].numpy() - s_false.usage[0].numpy()).max() > 1e-3
  assert np.abs(y_true.numpy() - y_false.numpy()).max() > 1e-5


def _loss_and_grads(circuit, batch, logit_loss=False, unroll=True):
  with tf.GradientTape() as tape:
    logits = circuit.unroll(tf.constant(batch.input), unroll=unroll)
    loss = sequence_loss(logits, batch.target, batch.mask, batch.time, logit_loss)
  return logits, loss, tape.gradient(loss, circuit.trainable_variables)


def test_usage_stop_gradient_changes_gradients_not_values():
  _, env, c_plain = build_small('dnc', '--usage_stop_gradient=False')
  _, _, c_stop = build_small('dnc', '--usage_stop_gradient=True', seed=3)
  copy_weights(c_plain, c_stop)
  batch = batch_of(env)
  y1, l1, g1 = _loss_and_grads(c_plain, batch)
  y2, l2, g2 = _loss_and_grads(c_stop, batch)
  np.testing.assert_array_equal(y1.numpy(), y2.numpy())
  assert float(l1) == float(l2)
  diff = max(np.abs(a.numpy() - b.numpy()).max() / (np.abs(a.numpy()).max() + 1e-30)
             for a, b in zip(g1, g2))
  assert diff > 1e-4


@pytest.mark.parametrize('flag', ['tanh_keys', 'oneplus_strengths'])
@pytest.mark.parametrize('kind', ['ntm', 'dnc'])
def test_key_and_strength_switches_change_outputs(kind, flag):
  _, env, c_default = build_small(kind)
  default = getattr(c_default.params, flag)
  _, _, c_flipped = build_small(kind, f'--{flag}={not default}', seed=5)
  # At init scale pre-activations are small (tanh(x) ~ x) and memory nearly
  # uniform, so the effect is tiny; larger weights make it plain.
  for v in c_default.trainable_variables:
    v.assign(v * 5.0)
  copy_weights(c_default, c_flipped)
  # The head activations themselves: the split interface applies them.
  for circuit in (c_default, c_flipped):
    head = circuit.accessor.read_heads
    activations = {name: act for name, _, act in head.maps}
    assert activations['key'] == ('tanh' if circuit.params.tanh_keys else 'linear')
    assert activations['beta'] == ('oneplus' if circuit.params.oneplus_strengths else 'softplus')
    zeros = tf.zeros([1, head.interface_size])
    beta = head._split(zeros)['beta'].numpy()          # softplus(0) = ln 2
    np.testing.assert_allclose(beta, np.log(2.0) + circuit.params.oneplus_strengths, rtol=1e-6)
    key = head._split(zeros + 3.0)['key'].numpy()      # tanh(3) or 3
    np.testing.assert_allclose(key, np.tanh(3.0) if circuit.params.tanh_keys else 3.0, rtol=1e-6)
  inputs = tf.constant(batch_of(env).input)
  (y1, s1), (y2, s2) = c_default.unroll(inputs, trace=True), c_flipped.unroll(inputs, trace=True)
  assert np.abs(s1.read_weights.numpy() - s2.read_weights.numpy()).max() > 1e-3
  assert np.abs(s1.write_weights.numpy() - s2.write_weights.numpy()).max() > 1e-3
  assert np.abs(y1.numpy() - y2.numpy()).max() > 1e-3


def test_faithful_defaults():
  args, _, _ = build_small('dnc')
  assert args.persist_alloc_usage and args.one_hot_init_weights and args.tanh_keys
  assert not args.usage_stop_gradient and not args.oneplus_strengths and not args.logit_loss
  assert args.clip_grad_norm == 0 and args.sharpen_epsilon == 0 and args.clip_value == 20


# -- gradients -----------------------------------------------------------------------------------------

@pytest.mark.parametrize('kind', ['ntm', 'dnc'])
def test_every_variable_gets_finite_nonzero_gradient(kind):
  _, env, circuit = build_small(kind, '--batch_size=4')
  batch = batch_of(env, seed=2)
  _, loss, grads = _loss_and_grads(circuit, batch)
  assert np.isfinite(float(loss)) and float(loss) > 0
  names = [v.path if hasattr(v, 'path') else v.name for v in circuit.trainable_variables]
  assert len(grads) == len(names) > 0
  for name, g in zip(names, grads):
    assert g is not None, name
    g = tf.convert_to_tensor(g).numpy()
    assert np.all(np.isfinite(g)), name
    assert np.abs(g).max() > 0, name
  # The scan path gives the same gradients.
  _, loss2, grads2 = _loss_and_grads(circuit, batch, unroll=False)
  assert float(loss2) == pytest.approx(float(loss), rel=1e-5)
  for g, g2 in zip(grads, grads2):
    g, g2 = tf.convert_to_tensor(g).numpy(), tf.convert_to_tensor(g2).numpy()
    np.testing.assert_allclose(g, g2, atol=1e-6 * max(1.0, np.abs(g).max()), rtol=1e-4)


def test_loss_at_init_is_near_ln2_level():
  """Spec 4.3: at initialisation outputs are ~0.5 and the loss ~ ln2 * mask rows / T / B."""
  _, env, circuit = build(2, '--hidden_dim=16')
  batch = batch_of(env)
  logits = circuit.unroll(tf.constant(batch.input))
  loss = float(sequence_loss(logits, batch.target, batch.mask, batch.time))
  B, D = batch.target.shape[1], batch.target.shape[2]
  ln2_level = math.log(2) * batch.mask.sum() / (B * batch.time * D) / B
  assert 0.7 * ln2_level < loss < 1.5 * ln2_level


def test_compiled_loss_is_finite_for_saturated_outputs():
  """Regression: Grappler folded (1 - p) + 1e-12 into 1 - p, giving log(0) and
  0 * -inf = NaN in the compiled step once outputs saturated (eager was fine)."""
  logits = tf.constant([[[20.0, -20.0, 17.0, 3.0]]])
  target = tf.constant([[[1.0, 0.0, 1.0, 1.0]]])
  mask = tf.ones_like(target)
  eager = sequence_loss(logits, target, mask, 1.0)
  compiled = tf.function(sequence_loss)(logits, target, mask, tf.constant(1.0))
  assert np.isfinite(float(compiled))
  assert float(compiled) == pytest.approx(float(eager), rel=1e-6)
  # Wrong and saturated: -log(1e-12) per element, as the original computes it.
  wrong = tf.function(sequence_loss)(tf.constant([[[20.0]]]), tf.constant([[[0.0]]]),
                                     tf.constant([[[1.0]]]), tf.constant(1.0))
  assert float(wrong) == pytest.approx(-np.log(1e-12), rel=1e-3)
