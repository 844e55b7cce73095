"""The contextual choice task (qihongl/dnd-lstm `task/ContextualChoice.py`, spec 5).

An epoch is `n` unique trials (phase 1) followed by the same `n` trials in one
random order (phase 2). A trial is `T` steps of `[evidence ; context]`: the
evidence is N(mu, 1) with mu = sign(z), z ~ N(0, 1), its first `t_noise_off`
steps replaced by N(0, 1) noise; the context is one N(0, 1) vector tiled over
the steps; the target, `1[sum of the clean evidence > 0]`, is the same at every
step.

Draws come from a numpy legacy RNG in the original's order (z, the evidence, the
noise, the context, per trial; then the permutation), so `np.random.seed(s)`
before `sample` gives the original's stimuli bit for bit. Pass `rng` (a
`np.random.RandomState`) to keep the task's stream apart from numpy's global one.
"""
import numpy as np


class ContextualChoice:
  """Args:
    obs_dim: D_obs, the evidence width (the context has the same width).
    trial_length: T, steps per trial.
    t_noise_off: the first steps whose evidence is pure noise (< T).
    rng: a `np.random.RandomState`, or None for numpy's global RNG.
  """

  def __init__(self, obs_dim, trial_length=10, t_noise_off=5, rng=None):
    if not 0 <= t_noise_off < trial_length:
      raise ValueError(f't_noise_off={t_noise_off} must be in [0, trial_length={trial_length})')
    if obs_dim < 1:
      raise ValueError(f'obs_dim={obs_dim} must be >= 1')
    self.obs_dim, self.trial_length, self.t_noise_off = obs_dim, trial_length, t_noise_off
    self.ctx_dim = obs_dim
    self.x_dim = self.obs_dim + self.ctx_dim
    self.y_dim = 1
    self.rng = np.random if rng is None else rng

  def sample(self, n_unique_examples):
    """One epoch's stimuli.

    Returns:
      X: `[2n, T, x_dim]` float64, rows 0..n-1 the new trials, n..2n-1 the same
        trials permuted; Y: `[2n, T, 1]` float64 targets in {0, 1}.
    """
    observation, target, context = self._sample_n_trials(n_unique_examples)
    permuted = self._permute([observation, target, context])
    x_new = np.concatenate([observation, context], axis=-1)
    x_old = np.concatenate([permuted[0], permuted[2]], axis=-1)
    return np.concatenate([x_new, x_old]), np.concatenate([target, permuted[1]])

  def _sample_n_trials(self, n):
    trials = [self._sample_one_trial() for _ in range(n)]
    evidence, cue, target = (np.stack(parts) for parts in zip(*trials))
    return evidence, target, cue

  def _sample_one_trial(self):
    """(evidence `[T, D_obs]`, context `[T, D_ctx]`, target `[T, 1]`), drawn in the original's order."""
    drift = np.sign(self.rng.normal())
    evidence = self.rng.normal(loc=drift, size=(self.trial_length, self.obs_dim))
    target = np.tile(float(np.sum(evidence) > 0), (self.trial_length, 1))
    evidence[:self.t_noise_off] = self.rng.normal(loc=0, size=(self.t_noise_off, self.obs_dim))
    cue = np.tile(self.rng.normal(size=(self.ctx_dim,)), (self.trial_length, 1))
    return evidence, cue, target

  def _permute(self, arrays):
    """The same random permutation of every array's first axis."""
    sizes = {len(a) for a in arrays}
    if len(sizes) != 1:
      raise ValueError(f'arrays to permute have different lengths: {sorted(sizes)}')
    order = self.rng.permutation(sizes.pop())
    return [a[order] for a in arrays]
