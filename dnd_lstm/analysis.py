"""The original's analyses of an epoch (spec 7), in numpy.

- choice accuracy by time for first (rows 0..n-1) and repeated (n..2n-1)
  presentations, with the original's `compute_stats` (mean, SE = population
  std / sqrt(n - 1));
- key-key and value-value similarity matrices by the DND's kernel;
- the PCA of the stored values (centred, thin SVD, scores U S), the variance
  on PC0 and how well the sign of PC0 splits left from right trials;
- the pooled summary over several epochs that the acceptance bands of spec 7.4
  use.

Shapes: `M = 2n` trials of an epoch, `T` steps, `n` stored memories.
"""
import numpy as np

from common.kernels.nearest import COSINE_EPS, PAIRWISE_EPS


def compute_stats(x, axis=0):
  """(mean, standard error) along `axis`: the original's `compute_stats`
  (numpy's population std divided by sqrt(n - 1))."""
  x = np.asarray(x, np.float64)
  n = x.shape[axis]
  se = np.std(x, axis=axis) / np.sqrt(n - 1) if n > 1 else np.zeros_like(np.mean(x, axis=axis))
  return np.mean(x, axis=axis), se


def corrects(actions, targets):
  """`[M, T]` 1.0 where the action equals the target.

  Args:
    actions: `[M, T]` int; targets: `[M]` or `[M, T]` int.
  """
  actions, targets = np.asarray(actions), np.asarray(targets)
  if targets.ndim == 1:
    targets = targets[:, None]
  return (actions == targets).astype(np.float64)


def accuracy_by_time(actions, targets, n_unique):
  """{'first': (mean [T], se [T]), 'repeated': (mean, se)} over the epoch's trials."""
  right = corrects(actions, targets)
  return {'first': compute_stats(right[:n_unique]), 'repeated': compute_stats(right[n_unique:])}


def similarity_matrix(a, b, kernel):
  """`[n, m]` similarities of the rows of a `[n, d]` and b `[m, d]` by the DND's
  kernel (negative l2 / l1 distances with PyTorch's eps, or cosine)."""
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  if kernel == 'cosine':
    norm = lambda x: np.maximum(np.linalg.norm(x, axis=1), COSINE_EPS)
    return (a @ b.T) / (norm(a)[:, None] * norm(b)[None, :])
  difference = a[:, None, :] - b[None, :, :] + PAIRWISE_EPS
  if kernel == 'l1':
    return -np.abs(difference).sum(-1)
  return -np.sqrt(np.square(difference).sum(-1))


def pca(values):
  """(scores `[n, k]` = U S of the centred values, variance ratio of each PC `[k]`)."""
  values = np.asarray(values, np.float64)
  centred = values - values.mean(axis=0, keepdims=True)
  u, s, _ = np.linalg.svd(centred, full_matrices=False)
  variance = s ** 2
  total = variance.sum()
  return u * s, variance / total if total > 0 else variance


def sign_split_accuracy(pc0, targets):
  """How well the sign of PC0 separates the targets (the better of the two signs)."""
  pc0, targets = np.asarray(pc0), np.asarray(targets).astype(bool)
  positive = np.mean((pc0 > 0) == targets)
  return float(max(positive, 1.0 - positive))


def memory_analysis(keys, values, targets, kernel):
  """Similarity matrices and PCA of the stored memories, in insertion order.

  Args:
    keys: `[n, Dk]`; values: `[n, Dv]`; targets: `[n]` the phase-1 targets of the
      trials that wrote them (memory i belongs to trial i).
  Returns:
    dict: key_similarity `[n, n]`, value_similarity `[n, n]`, pc `[n, k]`,
    variance_ratio `[k]`, pc0_sign_split (float, NaN for fewer than 2 memories).
  """
  out = {'key_similarity': similarity_matrix(keys, keys, kernel),
         'value_similarity': similarity_matrix(values, values, kernel)}
  if len(values) >= 2:
    out['pc'], out['variance_ratio'] = pca(values)
    out['pc0_sign_split'] = sign_split_accuracy(out['pc'][:, 0], targets[:len(values)])
  else:
    out['pc'], out['variance_ratio'], out['pc0_sign_split'] = None, None, float('nan')
  return out


def pooled_summary(actions, targets, returns, n_unique, t_noise_off, epochs):
  """The acceptance-band quantities of spec 7.4 for one agent.

  Args:
    actions: `[E, M, T]`; targets: `[E, M]`; returns: `[E, M]` (total reward per trial).
    epochs: the epochs pooled (e.g. range(15, 20)).
  Returns:
    dict of floats and lists: repeated / first accuracy by time pooled over
    `epochs`, the t=0 values, first-presentation accuracy over t < t_noise_off,
    and the last epoch's return.
  """
  epochs = list(epochs)
  right = np.concatenate([corrects(actions[e], targets[e]) for e in epochs])      # [|E| M, T]
  trial_phase = np.concatenate([np.arange(actions.shape[1]) for _ in epochs])
  repeated, first = right[trial_phase >= n_unique], right[trial_phase < n_unique]
  return {
      'epochs_pooled': [epochs[0], epochs[-1]],
      'repeated_by_time': repeated.mean(0).tolist(),
      'first_by_time': first.mean(0).tolist(),
      'repeated_t0': float(repeated[:, 0].mean()),
      'first_t0': float(first[:, 0].mean()),
      'first_before_noise_off': float(first[:, :t_noise_off].mean()),
      'return_last_epoch': float(np.mean(returns[-1])),
      'return_pooled': float(np.mean(returns[epochs])),
  }
