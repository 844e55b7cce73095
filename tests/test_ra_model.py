"""Tests for recurrent_attention/ram.py, ram_catch.py and common/optim.TorchAdam:
parameter counts, the unroll, where gradients flow (spec 8.1), the losses
against numpy (spec 3.1, 3.2), the schedule, and Adam against PyTorch's rule."""
import numpy as np
import pytest
import tensorflow as tf

from common.optim import TorchAdam
from recurrent_attention import ram, ram_catch


def small_model(**kwargs):
  settings = dict(glimpse_size=4, num_scales=2, num_glimpses=3, glimpse_hidden=8, loc_hidden=8,
                  glimpse_out=16, core_hidden=16)
  settings.update(kwargs)
  return ram.RecurrentAttention(**settings)


def run(model, batch=5, side=12, seed=0):
  rng = np.random.default_rng(seed)
  images = tf.constant(rng.uniform(-1, 1, (batch, side, side)), tf.float32)
  initial = tf.constant(rng.uniform(-1, 1, (batch, 2)), tf.float32)
  noise = tf.constant(rng.normal(size=(model.num_glimpses, batch, 2)), tf.float32)
  labels = tf.constant(rng.integers(0, 10, batch), tf.int32)
  return images, initial, noise, labels


@pytest.mark.parametrize('settings, expected', [
    (dict(glimpse_size=8, num_scales=1), 209420),    # centered (spec 2.9)
    (dict(glimpse_size=12, num_scales=3), 256524),   # translated / cluttered
])
def test_parameter_counts_match_the_original(settings, expected):
  model = ram.RecurrentAttention(num_glimpses=2, **settings)
  counted = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
  assert counted == expected + 1  # + the scalar baseline


def test_catch_parameter_count_matches_the_original():
  model = ram_catch.CatchRAM()
  counted = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
  assert counted == 608005 + 1


def test_unroll_shapes_and_locations_follow_the_samples():
  model = small_model()
  images, initial, noise, _ = run(model)
  out, trace = model(images, initial, noise, trace=True)
  assert out.logits.shape == (5, 10) and out.log_pi.shape == (3, 5)
  assert out.locations.shape == (3, 5, 2) and trace.glimpses.shape == (3, 5, 2, 4, 4)
  np.testing.assert_allclose(out.locations[0], initial)  # l_0 is the random start
  # l_t = tanh(mu_t + std * noise_t) is used by glimpse t + 1 (spec 2.5, 2.8).
  expected = np.tanh(trace.means[:-1].numpy() + 0.25 * noise[:-1].numpy())
  np.testing.assert_allclose(out.locations[1:], expected, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(out.logits, trace.step_logits[-1], rtol=1e-5, atol=1e-6)
  # log N(u; mu, 0.25) summed over both coordinates, u = mu + 0.25 * noise.
  log_pi = (-0.5 * noise.numpy() ** 2 - np.log(0.25) - 0.5 * np.log(2 * np.pi)).sum(-1)
  np.testing.assert_allclose(out.log_pi, log_pi, rtol=1e-5, atol=1e-5)


def np_losses(logits, labels, log_pi, baseline, gamma=1.0, drop_last=False):
  """Spec 3.1 in numpy."""
  logits = np.asarray(logits, np.float64)
  log_softmax = logits - logits.max(-1, keepdims=True)
  log_softmax -= np.log(np.exp(log_softmax).sum(-1, keepdims=True))
  rewards = (logits.argmax(-1) == labels).astype(np.float64)
  action = -log_softmax[np.arange(len(labels)), labels].sum()
  steps = log_pi.shape[0]
  weights = np.array([gamma ** (steps - 1 - t) if t < steps - 1 else 1.0 for t in range(steps)])
  terms = weights[:, None] * (rewards - baseline) * log_pi
  if drop_last:
    terms = terms[:-1]
  location = -terms.sum()
  base = ((baseline - rewards) ** 2).sum()
  return action + location + base, action, location, base, rewards.sum()


@pytest.mark.parametrize('last', [True, False])
def test_classification_losses_match_numpy(last):
  model = small_model(baseline_init=0.3)
  images, initial, noise, labels = run(model)
  out = model(images, initial, noise)
  labels = tf.constant(np.argmax(out.logits.numpy(), -1) * np.array([1, 1, 0, 1, 0]), tf.int32)
  losses = ram.classification_losses(model, out, labels, gamma=1.0, last_location_logpi=last)
  expected = np_losses(out.logits.numpy(), labels.numpy(), out.log_pi.numpy(), 0.3,
                       drop_last=not last)
  np.testing.assert_allclose([float(v) for v in losses], expected, rtol=1e-5, atol=1e-5)


def test_discount_weights_gamma_zero_keeps_only_the_last_step():
  np.testing.assert_allclose(ram.discount_weights(4, 0.0), [0, 0, 0, 1])
  np.testing.assert_allclose(ram.discount_weights(3, 0.5), [0.25, 0.5, 1])
  np.testing.assert_allclose(ram.discount_weights(3, 1.0), [1, 1, 1])


def test_reinforce_sign_and_baseline_are_the_specs():
  log_pi = tf.Variable([[-1.0, -2.0]])  # [T=1, B=2]
  rewards = tf.constant([1.0, 0.0])
  baseline = tf.Variable(0.25)
  with tf.GradientTape(persistent=True) as tape:
    loss = ram.reinforce_loss(log_pi, rewards, baseline)
  # -(A_i * log_pi_i) summed, A = R - b: -(0.75 * -1 + -0.25 * -2) = 0.25.
  assert float(loss) == pytest.approx(0.25)
  # Descending the loss raises the log-probability of the rewarded sample and
  # lowers the unrewarded one; no gradient reaches the baseline (stop_gradient).
  np.testing.assert_allclose(tape.gradient(loss, log_pi), [[-0.75, 0.25]])
  assert tape.gradient(loss, baseline) is None


def gradients_by_term(model, images, initial, noise, labels):
  with tf.GradientTape(persistent=True) as tape:
    out = model(images, initial, noise)
    losses = ram.classification_losses(model, out, labels)
  return {name: dict(zip([v.name + str(i) for i, v in enumerate(model.trainable_variables)],
                         tape.gradient(getattr(losses, name), model.trainable_variables)))
          for name in ('action', 'location', 'baseline')}, model


def _nonzero(grad):
  return grad is not None and float(tf.reduce_sum(tf.abs(grad))) > 0


def test_gradient_routing_is_the_originals():
  """Spec 3.1 table and 8.1: location net from L_loc only, action net from L_act only,
  baseline from L_base only, core and glimpse nets from both L_act and L_loc."""
  model = small_model(baseline_init=0.3)
  images, initial, noise, labels = run(model, batch=8)
  with tf.GradientTape(persistent=True) as tape:
    out = model(images, initial, noise)
    labels = tf.constant(np.argmax(out.logits.numpy(), -1) * np.array([1, 0] * 4), tf.int32)
    losses = ram.classification_losses(model, out, labels)
  groups = {
      'location': model.location_net.trainable_variables,
      'action': model.action_net.trainable_variables,
      'core': model.core_net.trainable_variables,
      'glimpse': model.glimpse_net.trainable_variables,
      'baseline': [model.baseline],
  }
  expected = {  # (from L_act, from L_loc, from L_base)
      'location': (False, True, False), 'action': (True, False, False),
      'core': (True, True, False), 'glimpse': (True, True, False),
      'baseline': (False, False, True),
  }
  for group, variables in groups.items():
    for term, wanted in zip(('action', 'location', 'baseline'), expected[group]):
      grads = tape.gradient(getattr(losses, term), variables)
      got = any(_nonzero(g) for g in grads)
      assert got == wanted, f'{group} from L_{term}: nonzero={got}, expected {wanted}'


def test_sampled_locations_carry_no_gradient():
  model = small_model()
  images, initial, noise, _ = run(model)
  with tf.GradientTape() as tape:
    out = model(images, initial, noise)
    target = tf.reduce_sum(out.locations)
  grads = tape.gradient(target, model.location_net.trainable_variables)
  assert all(g is None or float(tf.reduce_sum(tf.abs(g))) == 0 for g in grads)


def test_baseline_network_option_is_per_step_and_detached():
  model = small_model(baseline='network')
  images, initial, noise, labels = run(model)
  with tf.GradientTape(persistent=True) as tape:
    out = model(images, initial, noise)
    losses = ram.classification_losses(model, out, labels)
  assert out.baselines.shape == (3, 5)
  assert any(_nonzero(g) for g in tape.gradient(losses.baseline,
                                                 model.baseline_net.trainable_variables))
  # The baseline's squared error must not train the core (stop_gradient on h).
  assert not any(_nonzero(g) for g in tape.gradient(losses.baseline,
                                                     model.core_net.trainable_variables))
  with pytest.raises(ValueError, match='unknown baseline'):
    small_model(baseline='mlp')


def test_learning_rate_schedule_starts_decayed_and_has_a_floor():
  assert ram.adjust_learning_rate(1e-3, 0.95, 1) == pytest.approx(9.5e-4)
  assert ram.adjust_learning_rate(1e-3, 0.95, 100) == pytest.approx(1e-3 * 0.95 ** 100)
  assert ram.adjust_learning_rate(1e-4, 0.99, 700, floor=1e-7) == 1e-7


def test_torch_adam_matches_pytorchs_rule():
  rng = np.random.default_rng(0)
  start = rng.normal(size=(3, 2))
  var = tf.Variable(start, dtype=tf.float32)
  optimizer = TorchAdam([var], lr=0.01, eps=1e-8)
  m = v = np.zeros_like(start)
  expected = start.copy()
  for t in range(1, 5):
    grad = rng.normal(size=start.shape)
    optimizer.apply_gradients([tf.constant(grad, tf.float32)], [var])
    m = 0.9 * m + 0.1 * grad
    v = 0.999 * v + 0.001 * grad ** 2
    expected -= 0.01 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
  np.testing.assert_allclose(var.numpy(), expected, rtol=1e-5, atol=1e-6)
  optimizer.lr.assign(0.0)  # the schedule assigns lr between steps
  before = var.numpy()
  optimizer.apply_gradients([tf.ones_like(var)], [var])
  np.testing.assert_allclose(var.numpy(), before)
  with pytest.raises(ValueError, match='expected 1 gradients'):
    optimizer.apply_gradients([], [])


def small_catch(**kwargs):
  settings = dict(glimpse_hidden=8, loc_hidden=8, glimpse_out=16, core_hidden=16)
  settings.update(kwargs)
  return ram_catch.CatchRAM(**settings)


def test_catch_episode_and_first_batch_baseline():
  model = small_catch()
  rng = tf.random.Generator.from_seed(3)
  episode = model.play(rng, 6, trace=True)
  assert episode.frames.shape == (23, 6, 24, 24) and episode.locations.shape == (23, 6, 2)
  assert episode.action_log_pi.shape == (23, 6) and set(np.unique(episode.actions)) <= {0, 1, 2}
  rewards = tf.constant([1.0, 0, 0, 1, 0, 0])
  episode = episode._replace(rewards=rewards)
  assert float(model.baseline) == 0.0 and float(model.baseline_ready) == 0.0
  losses = model.losses(episode, gamma=0.0)
  # The first training batch sets b to its mean reward before the advantages.
  assert float(model.baseline) == pytest.approx(1 / 3) and float(model.baseline_ready) == 1.0
  advantage = rewards.numpy() - 1 / 3
  # gamma = 0: only the last step's log-probabilities count (spec 3.2).
  expected_action = -(advantage * episode.action_log_pi.numpy()[-1]).sum()
  expected_location = -(advantage * episode.location_log_pi.numpy()[-1]).sum()
  assert float(losses.action) == pytest.approx(expected_action, rel=1e-5, abs=1e-6)
  assert float(losses.location) == pytest.approx(expected_location, rel=1e-5, abs=1e-6)
  assert float(losses.reward) == 2.0
  model.baseline.assign(0.9)
  model.losses(episode, gamma=0.0)
  assert float(model.baseline) == pytest.approx(0.9)  # only the first batch overwrites


def test_catch_gradients_reach_actions_and_locations_but_not_through_samples():
  model = small_catch(first_batch_baseline=False, baseline_init=0.1)
  rng = tf.random.Generator.from_seed(4)
  with tf.GradientTape(persistent=True) as tape:
    episode = model.play(rng, 8)
    episode = episode._replace(rewards=tf.constant([1.0, 0] * 4))
    losses = model.losses(episode, gamma=1.0)
  assert any(_nonzero(g) for g in tape.gradient(losses.action,
                                                 model.action_net.trainable_variables))
  assert any(_nonzero(g) for g in tape.gradient(losses.location,
                                                 model.location_net.trainable_variables))
  assert not any(_nonzero(g) for g in tape.gradient(losses.action,
                                                     model.location_net.trainable_variables))
  assert not any(_nonzero(g) for g in tape.gradient(losses.location,
                                                     model.action_net.trainable_variables))


def test_catch_entropy_cost_subtracts_the_action_policys_entropy():
  model = small_catch(first_batch_baseline=False, baseline_init=0.1)
  rng = tf.random.Generator.from_seed(5)
  with tf.GradientTape(persistent=True) as tape:
    episode = model.play(rng, 4)
    plain = model.losses(episode, gamma=1.0)
    bonus = model.losses(episode, gamma=1.0, entropy_cost=0.5)
  entropy = episode.action_entropy.numpy()
  assert entropy.shape == (23, 4)
  assert np.all(entropy > 0) and np.all(entropy <= np.log(3) + 1e-6)
  assert float(bonus.total) == pytest.approx(float(plain.total) - 0.5 * entropy.sum(), rel=1e-5)
  assert float(bonus.action) == pytest.approx(float(plain.action))  # reported term unchanged
  # The bonus pushes the action logits toward uniform, and reaches nothing else directly.
  extra = [b - p for b, p in zip(tape.gradient(bonus.total, model.action_net.trainable_variables),
                                 tape.gradient(plain.total, model.action_net.trainable_variables))]
  assert any(_nonzero(g) for g in extra)
  location_extra = [b - p for b, p in zip(
      tape.gradient(bonus.total, model.location_net.trainable_variables),
      tape.gradient(plain.total, model.location_net.trainable_variables))]
  assert not any(_nonzero(g) for g in location_extra)


def test_action_network_entropy_is_the_softmax_entropy():
  net = ram_catch.StochasticActionNetwork(input_dim=5)
  h = tf.constant(np.random.default_rng(0).normal(size=(7, 5)), tf.float32)
  _, actions, entropy = net(h, tf.constant([1, 2]))
  logits = net.fc(h).numpy().astype(np.float64)
  p = np.exp(logits - logits.max(-1, keepdims=True))
  p /= p.sum(-1, keepdims=True)
  np.testing.assert_allclose(entropy.numpy(), -(p * np.log(p)).sum(-1), rtol=1e-5)
  assert actions.shape == (7,)
