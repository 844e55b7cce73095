"""dnd_lstm/model/agent.py: one compiled trial against a numpy reference (reads, cell,
writes, policy, sampling, A2C loss), its gradients numerically, the Adam step, the
encoding / retrieval switches, action replay and float32 against float64."""
import numpy as np
import pytest
import tensorflow as tf
from kernel_testing import assert_close

from dnd_lstm.model.agent import Agent, sample_actions

DX, H, T = 6, 4, 5


def sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


def weights(agent, b=0):
  return {v.name.split(':')[0].split('/')[-1]: v.numpy()[b] for v in agent.variables_trained}


def np_trial(w, x, y, h, c, uniform, keys, values, encode, retrieval_on=True):
  """The original's trial (spec 3.2, 4) for one agent, with a list DND."""
  keys, values = list(keys), list(values)
  out = {name: [] for name in ('f', 'i', 'o', 'r', 'c', 'h', 'index', 'policy', 'value',
                               'action', 'log_prob', 'reward')}
  for t in range(len(x)):
    if keys and retrieval_on:
      distance = [np.linalg.norm(x[t] - k + 1e-6) for k in keys]
      index = int(np.argmin(distance))
      memory = values[index]
    else:
      index, memory = 0, np.zeros(H)
    z = x[t] @ w['i2h_kernel'] + w['i2h_bias'] + h @ w['h2h_kernel'] + w['h2h_bias']
    f, i, o, r = (sigmoid(z[k * H:(k + 1) * H]) for k in range(4))
    g = np.tanh(z[4 * H:])
    c = f * c + i * g + r * np.tanh(memory)
    h = o * np.tanh(c)
    if encode and t == len(x) - 1:
      keys.append(x[t])
      values.append(c)
    logits = h @ w['actor_kernel'] + w['actor_bias']
    policy = np.exp(logits - logits.max())
    policy /= policy.sum()
    value = float(h @ w['critic_kernel'][:, 0] + w['critic_bias'][0])
    action = int(uniform[t] >= policy[0])
    reward = float(action == y[t])
    for name, v in (('f', f), ('i', i), ('o', o), ('r', r), ('c', c), ('h', h), ('index', index),
                    ('policy', policy), ('value', value), ('action', action),
                    ('log_prob', np.log(policy[action])), ('reward', reward)):
      out[name].append(v)
  out = {k: np.array(v) for k, v in out.items()}
  returns = out['reward']  # gamma 0
  advantage = returns - out['value']
  d = np.abs(out['value'] - returns)
  out['loss_policy'] = float(np.sum(-out['log_prob'] * advantage))
  out['loss_value'] = float(np.sum(np.where(d < 1, 0.5 * d ** 2, d - 0.5)))
  return out, keys, values


def make_agent(dtype=tf.float64, seeds=(3, 4), **options):
  return Agent(DX, H, 2, dict_len=6, seeds=seeds, dtype=dtype, **options)


def trial_inputs(rng, b=2, dtype=tf.float64):
  x = rng.normal(size=(b, T, DX))
  y = rng.integers(0, 2, size=(b, T))
  h0, c0 = rng.normal(size=(b, H)) * 0.1, rng.normal(size=(b, H)) * 0.1
  uniform = rng.uniform(size=(b, T))
  tensors = [tf.constant(a, dtype) for a in (x, )] + [tf.constant(y, tf.int32)] + [
      tf.constant(a, dtype) for a in (h0, c0, uniform)]
  return (x, y, h0, c0, uniform), tensors


def call(function, tensors, encode=True, retrieval_on=True, actions=None):
  b = tensors[0].shape[0]
  replay = actions is not None
  actions = tf.zeros([b, T], tf.int32) if actions is None else tf.constant(actions, tf.int32)
  return function(*tensors, actions, tf.constant(replay), tf.constant(encode),
                  tf.constant(retrieval_on))


def fill(agent, rng, trials=3):
  """Runs a few encoding trials so that the DND holds entries; returns them per agent."""
  for _ in range(trials):
    _, tensors = trial_inputs(rng, b=len(agent.seeds), dtype=agent.dtype)
    call(agent.run_trial, tensors, encode=True)
  keys, values = (a.numpy() for a in agent.dnd.get_all_mems())
  return keys, values


def test_sample_actions_is_the_inverse_cdf():
  policy = tf.constant([[0.3, 0.7], [0.3, 0.7], [0.2, 0.5, 0.3][:2] + [0.0]][:2])
  assert sample_actions(policy, tf.constant([0.29, 0.3])).numpy().tolist() == [0, 1]
  three = tf.constant([[0.2, 0.5, 0.3]] * 3)
  assert sample_actions(three, tf.constant([0.1, 0.6, 0.75])).numpy().tolist() == [0, 1, 2]


def test_trial_matches_numpy_reference():
  rng = np.random.default_rng(0)
  agent = make_agent()
  stored = fill(agent, rng)
  (x, y, h0, c0, uniform), tensors = trial_inputs(rng)
  result = call(agent.run_trial, tensors, encode=True)
  for b in range(2):
    ref, keys, values = np_trial(weights(agent, b), x[b], y[b], h0[b], c0[b], uniform[b],
                                 stored[0][b], stored[1][b], encode=True)
    for name in ('f', 'i', 'o', 'r', 'c', 'h', 'policy', 'value', 'log_prob'):
      assert_close(getattr(result.trace, name).numpy()[b], ref[name], rtol=1e-10, atol=1e-12)
    for name in ('index', 'action', 'reward'):
      assert getattr(result.trace, name).numpy()[b].tolist() == ref[name].tolist(), name
    assert_close(result.loss_policy.numpy()[b], ref['loss_policy'], rtol=1e-10)
    assert_close(result.loss_value.numpy()[b], ref['loss_value'], rtol=1e-10)
    # One write, at the last step, of (x_T-1, c_T-1).
    new_keys, new_values = (a.numpy()[b] for a in agent.dnd.get_all_mems())
    assert len(new_keys) == len(keys) == 4
    assert_close(new_keys[-1], keys[-1])
    assert_close(new_values[-1], values[-1], rtol=1e-12)


def test_encoding_and_retrieval_switches():
  rng = np.random.default_rng(1)
  agent = make_agent()
  _, tensors = trial_inputs(rng)
  first = call(agent.run_trial, tensors, encode=False)
  assert agent.dnd.count.numpy().tolist() == [0, 0]          # nothing written
  assert not first.trace.found.numpy().any() and np.all(first.trace.m.numpy() == 0)
  call(agent.run_trial, tensors, encode=True)
  assert agent.dnd.count.numpy().tolist() == [1, 1]          # only the last step writes
  read = call(agent.run_trial, tensors, encode=False)
  assert read.trace.found.numpy().all()
  off = call(agent.run_trial, tensors, encode=False, retrieval_on=False)
  assert not off.trace.found.numpy().any() and np.all(off.trace.m.numpy() == 0)
  # Without retrieval, the trial is the one run on an empty store.
  assert_close(off.trace.h, first.trace.h, rtol=1e-12)


def test_replayed_actions_are_taken():
  rng = np.random.default_rng(2)
  agent = make_agent()
  _, tensors = trial_inputs(rng)
  actions = rng.integers(0, 2, size=(2, T))
  result = call(agent.run_trial, tensors, encode=False, actions=actions)
  assert result.trace.action.numpy().tolist() == actions.tolist()
  expected = np.log(np.take_along_axis(result.trace.policy.numpy(), actions[..., None], -1))[..., 0]
  assert_close(result.trace.log_prob, expected, rtol=1e-12)


def test_gradients_match_finite_differences():
  rng = np.random.default_rng(3)
  agent = make_agent(seeds=(7,))
  fill(agent, rng)
  _, tensors = trial_inputs(rng, b=1)
  actions = tf.constant(rng.integers(0, 2, size=(1, T)), tf.int32)  # fixed: a smooth loss
  args = (*tensors, actions, tf.constant(True), tf.constant(False), tf.constant(True))
  base, grads = agent.gradients(*args)
  # The baseline in the advantage is a constant (stop-gradient), so the function
  # to difference holds it at the base point's values.
  advantage = base.trace.reward - base.trace.value
  for variable, grad in zip(agent.variables_trained, grads):
    flat = variable.numpy().ravel()
    for index in rng.choice(flat.size, size=min(4, flat.size), replace=False):
      original = flat[index]
      losses = []
      for delta in (1e-6, -1e-6):
        flat[index] = original + delta
        variable.assign(flat.reshape(variable.shape))
        result = agent.rollout(*args)
        policy_loss = -tf.reduce_sum(result.trace.log_prob * advantage)
        losses.append(float(policy_loss + tf.reduce_sum(result.loss_value)))
      flat[index] = original
      variable.assign(flat.reshape(variable.shape))
      numeric = (losses[0] - losses[1]) / 2e-6
      assert abs(numeric - grad.numpy().ravel()[index]) < 1e-6 * max(1.0, abs(numeric)), \
          variable.name


def test_train_trial_takes_one_pytorch_adam_step():
  rng = np.random.default_rng(4)
  agent = make_agent(seeds=(1,), learning_rate=5e-4)
  _, tensors = trial_inputs(rng, b=1)
  actions = tf.constant(rng.integers(0, 2, size=(1, T)), tf.int32)
  args = (*tensors, actions, tf.constant(True), tf.constant(False), tf.constant(True))
  before = [v.numpy() for v in agent.variables_trained]
  _, grads = agent.gradients(*args)
  agent.train_trial(*args)
  for old, grad, variable in zip(before, grads, agent.variables_trained):
    g = grad.numpy()
    m, v = 0.1 * g, 0.001 * g ** 2
    expected = old - 5e-4 / 0.1 * m / (np.sqrt(v) / np.sqrt(0.001) + 1e-8)
    assert_close(variable.numpy(), expected, rtol=1e-6, atol=1e-12)
  assert int(agent.optimizer.iterations.numpy()) == 1


def test_float32_follows_float64():
  rng = np.random.default_rng(5)
  single, double = make_agent(tf.float32), make_agent(tf.float64)
  for a, b in zip(single.variables_trained, double.variables_trained):
    b.assign(tf.cast(a, tf.float64))
  _, tensors = trial_inputs(rng, dtype=tf.float64)
  r64 = call(double.run_trial, tensors)
  r32 = call(single.run_trial, [tf.cast(t, tf.float32) if t.dtype.is_floating else t
                                for t in tensors])
  assert r32.trace.h.dtype == tf.float32
  assert_close(r32.trace.h, r64.trace.h.numpy(), rtol=1e-5, atol=1e-6)
  assert r32.trace.action.numpy().tolist() == r64.trace.action.numpy().tolist()


@pytest.mark.parametrize('options', [dict(policy='kNN', k=3), dict(eviction='LRU'),
                                     dict(kernel='cosine'), dict(two_biases=False)])
def test_options_compile_and_run(options):
  rng = np.random.default_rng(6)
  agent = make_agent(**options)
  fill(agent, rng)
  _, tensors = trial_inputs(rng)
  result = call(agent.train_trial, tensors)
  assert np.isfinite(result.loss_value.numpy()).all()


def test_xla_trial_equals_graph_trial():
  rng = np.random.default_rng(7)
  graph, xla = make_agent(), make_agent(jit_compile=True)
  _, tensors = trial_inputs(rng)
  a, b = call(graph.train_trial, tensors), call(xla.train_trial, tensors)
  assert_close(a.trace.h, b.trace.h.numpy(), rtol=1e-9)
  for u, v in zip(graph.variables_trained, xla.variables_trained):
    assert_close(u, v.numpy(), rtol=1e-8, atol=1e-12)
