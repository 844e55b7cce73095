"""The original's four figures and the per-step views, as PNGs (spec 7, 9.16).

Plots are drawn with matplotlib (`common.plots`); the per-step gate heatmaps
are image frames, drawn with OpenCV (`common.visualize`), as in the other
subprojects. `write_all` writes one agent's folder.
"""
import json
import os

import numpy as np

from common import plots, visualize
from common.logs import writing
from dnd_lstm import analysis

GATE_NAMES = (('f', 'forget'), ('i', 'input'), ('o', 'output'), ('r', 'reinstatement (r)'))


def stimulus(x, targets, trials, obs_dim, t_noise_off, path):
  """Heatmaps of the inputs of `trials` (time on x, input dimension on y), the
  noise-off line and the evidence / context split; the original's `eg-<y>.png`.

  Args:
    x: `[M, T, Dx]`; targets: `[M]`; trials: trial indices (one per panel).
  """
  panels = [(x[m].T, f'Stimulus for a trial, y = {int(targets[m])}') for m in trials]
  return plots.matrix_plot(panels, path, row_label='x-dim: evidence (top) | context (bottom)',
                           col_label='Time', cmap='RdBu_r', center=0.0, shared_scale=True,
                           size_per_panel=(420, 420),
                           vlines=((t_noise_off, 'grey'),), hlines=((obs_dim, 'black'),))


def learning_curves(returns, loss_value, path):
  """Per-epoch return and value loss, two panels (the original's figure 1)."""
  figure, (left, right) = plots.new_figure(8, 3, ncols=2)
  epochs = np.arange(len(returns))
  left.plot(epochs, returns)
  left.set(ylabel='Return', xlabel='Epoch')
  right.plot(epochs, loss_value)
  right.set(ylabel='Value loss', xlabel='Epoch')
  for axes in (left, right):
    axes.grid(alpha=0.3)
  figure.tight_layout()
  return plots.save(figure, path)


def accuracy(by_time, n_se, t_noise_off, path, title='Choice accuracy by condition'):
  """Correct rate by time for first and repeated presentations, +- n_se SEM."""
  series = {'w/o memory': (by_time['first'][0], n_se * by_time['first'][1]),
            'w/ memory': (by_time['repeated'][0], n_se * by_time['repeated'][1])}
  return plots.errorbar_plot(series, path, title=title, x_label='Time', y_label='Correct rate',
                             vlines=((t_noise_off, 'turn off noise'),), size=(700, 400))


def similarity(memory, kernel, path):
  """Key-key and value-value similarity matrices (the original's figure 3)."""
  panels = [(memory['key_similarity'], f'key-key similarity, metric = {kernel}'),
            (memory['value_similarity'], f'value-value similarity, metric = {kernel}')]
  return plots.matrix_plot(panels, path, row_label='memory id', col_label='memory id',
                           size_per_panel=(600, 500))


def pca_values(memory, targets, path):
  """PC0 against PC1 of the stored values, coloured by target (figure 4)."""
  pc, ratio = memory['pc'], memory['variance_ratio']
  targets = np.asarray(targets[:len(pc)]).astype(bool)
  second = pc[:, 1] if pc.shape[1] > 1 else np.zeros(len(pc))
  groups = {'left trial': (pc[~targets, 0], second[~targets]),
            'right trial': (pc[targets, 0], second[targets])}
  return plots.scatter_plot(groups, path, title='Each point is a memory (i.e. value)',
                            x_label=f'PC 0 ({100 * ratio[0]:.0f}% of the variance)',
                            y_label='PC 1', legend='upper left')


def trial_steps(trace, target, label, prefix):
  """One trial of one agent, per time step: the four gates (OpenCV heatmaps) and
  the retrieval and policy (matplotlib).

  Args:
    trace: dict of one trial's `Trace` fields (gates `[T, H]`, the rest `[T]` or `[T, A]`).
    target: the trial's target; label: e.g. 'trial 3, first presentation'.
    prefix: path prefix of the two PNGs.
  """
  panels = [(trace[name], title) for name, title in GATE_NAMES]
  visualize.heatmap_grid(panels, prefix + 'gates.png', title=f'gates, {label}',
                         row_label='time step', col_label='unit', vmin=0, vmax=1)
  figure, axes = plots.new_figure(6, 6.5, nrows=3)
  steps = np.arange(len(trace['index']))
  found = trace['found'].astype(bool)
  axes[0].plot(steps[found], trace['index'][found], 'o-')
  axes[0].set(ylabel='retrieved memory id', title=label)
  distance = np.where(found, -trace['similarity'], np.nan)
  axes[1].plot(steps, distance, 'o-')
  axes[1].set(ylabel='distance of the retrieved key')
  axes[2].plot(steps, trace['policy'][:, 1], 'o-', label='policy: P(right)')
  axes[2].plot(steps, trace['value'], 's--', label='value')
  axes[2].scatter(steps, trace['action'], marker='x', color='black', label='action', zorder=3)
  axes[2].axhline(float(target), color='green', alpha=0.4, label=f'target = {int(target)}')
  axes[2].set(xlabel='Time', ylabel='policy / value')
  axes[2].legend(loc='center left', bbox_to_anchor=(1.02, 0.5), frameon=False)
  for a in axes:
    a.grid(alpha=0.3)
  figure.tight_layout()
  return plots.save(figure, prefix + 'retrieval.png')


def repeat_of(x, n_unique):
  """For each phase-1 trial i, the phase-2 row showing the same stimulus."""
  first, second = x[:n_unique].reshape(n_unique, -1), x[n_unique:].reshape(n_unique, -1)
  match = [int(np.flatnonzero(np.all(second == row, axis=1))[0]) + n_unique for row in first]
  return np.array(match)


def write_all(directory, epoch_data, settings, traces=None, history=None):
  """Every figure of one agent for one epoch, and `analysis.json`.

  Args:
    epoch_data: dict x `[M, T, Dx]`, targets `[M]`, actions `[M, T]`, keys and
      values `[n, *]` of the DND at the epoch's end (insertion order).
    settings: dict N_UNIQUE_EXAMPLE, OBS_DIM, T_NOISE_OFF, KERNEL, N_SE, VIS_TRIALS.
    traces: optional {trial: dict of `Trace` fields} for the per-step figures.
    history: optional (returns `[E]`, value losses `[E]`) for the learning curves.
  Returns:
    the analysis dict written to `analysis.json`.
  """
  n, t_off = settings['N_UNIQUE_EXAMPLE'], settings['T_NOISE_OFF']
  path = lambda name: os.path.join(directory, name)
  x, targets, actions = epoch_data['x'], epoch_data['targets'], epoch_data['actions']
  trials = [int(np.flatnonzero(targets[:n] == y)[0]) for y in (0, 1) if np.any(targets[:n] == y)]
  stimulus(x, targets, trials, settings['OBS_DIM'], t_off, path('stimulus.png'))
  by_time = analysis.accuracy_by_time(actions, targets, n)
  accuracy(by_time, settings['N_SE'], t_off, path('accuracy_by_time.png'))
  summary = {'accuracy_first': by_time['first'][0].tolist(),
             'accuracy_repeated': by_time['repeated'][0].tolist(),
             'return': float(analysis.corrects(actions, targets).sum(1).mean())}
  if history is not None:
    learning_curves(history[0], history[1], path('learning_curves.png'))
  if len(epoch_data['values']):
    memory = analysis.memory_analysis(epoch_data['keys'], epoch_data['values'], targets[:n],
                                      settings['KERNEL'])
    similarity(memory, settings['KERNEL'], path('similarity.png'))
    if memory['pc'] is not None:
      pca_values(memory, targets, path('pca_values.png'))
      summary['pc0_variance'] = float(memory['variance_ratio'][0])
      summary['pc0_sign_split'] = memory['pc0_sign_split']
  for trial, trace in (traces or {}).items():
    kind = 'first presentation' if trial < n else 'repeated'
    trial_steps(trace, targets[trial], f'trial {trial}, {kind}',
                path(f'trial{trial:03d}_{kind.split()[0]}_'))
  with writing('the analysis', path('analysis.json')):
    with open(path('analysis.json'), 'w') as handle:
      json.dump(summary, handle, indent=1)
  return summary
