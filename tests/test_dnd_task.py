"""dnd_lstm/task/contextual_choice.py: the original's stimuli bit for bit (spec 5.5)."""
import numpy as np
import pytest

from dnd_lstm.task.contextual_choice import ContextualChoice


@pytest.fixture(scope='module')
def epoch():
  np.random.seed(0)
  return ContextualChoice(obs_dim=32, trial_length=10, t_noise_off=5).sample(50)


def test_reference_values_of_seed_0(epoch):
  X, Y = epoch
  assert X.shape == (100, 10, 64) and Y.shape == (100, 10, 1)
  np.testing.assert_allclose(X[0, 0, :4], [-0.812993, 0.274516, -0.890915, -1.157355], atol=1e-6)
  np.testing.assert_allclose(X[0, 5, :4], [2.929532, 1.949421, 1.087551, -0.225436], atol=1e-6)
  np.testing.assert_allclose(X[0, 0, 32:36], [1.029439, -0.908763, -0.424318, 0.862596], atol=1e-6)
  assert Y[:10, 0, 0].tolist() == [1, 0, 0, 0, 0, 0, 1, 0, 0, 0]
  assert int(Y[:50, 0, 0].sum()) == 20


def test_phase_two_is_phase_one_permuted(epoch):
  X, Y = epoch
  perm = [next(i for i in range(50) if np.array_equal(X[50 + k], X[i])) for k in range(50)]
  assert perm[:10] == [23, 38, 19, 4, 46, 24, 35, 40, 25, 17]
  assert sorted(perm) == list(range(50))
  np.testing.assert_array_equal(Y[50:], Y[perm])


def test_structure_of_a_trial(epoch):
  X, Y = epoch
  context = X[:, :, 32:]
  assert np.all(context == context[:, :1])          # tiled over the steps
  assert np.all(Y == Y[:, :1])                      # one target per trial
  clean = X[:50, 5:, :32].mean(axis=(1, 2))         # mean +-1 evidence after t_noise_off
  assert np.all((clean > 0) == (Y[:50, 0, 0] == 1))
  assert abs(X[:50, :5, :32].mean()) < 0.05          # pure noise before it


def test_own_random_state_gives_the_global_stream(epoch):
  np.random.seed(123)  # the task's own RandomState ignores the global one
  X, Y = ContextualChoice(32, rng=np.random.RandomState(0)).sample(50)
  np.testing.assert_array_equal(X, epoch[0])
  np.testing.assert_array_equal(Y, epoch[1])


def test_bad_arguments():
  with pytest.raises(ValueError, match='t_noise_off=10'):
    ContextualChoice(32, trial_length=10, t_noise_off=10)
  with pytest.raises(ValueError, match='obs_dim=0'):
    ContextualChoice(0)
