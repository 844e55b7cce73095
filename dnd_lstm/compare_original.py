"""Replay a trace of the original (`original/record_trace.py`) through this port.

  python compare_original.py --trace=/tmp/original_trace.npz

The port starts from the original's initial weights and, trial by trial, is
fed the original's stimuli, initial states and sampled actions (torch's action
RNG cannot be reproduced, so actions are replayed). Each trial runs in the
port's own compiled trial function, then takes the port's Adam step. Printed as
JSON lines: per epoch, the largest differences from the original of the
gates, cell and hidden states, policy, value, losses, gradients and the
parameters after every Adam step (absolute, and relative to the quantity's
scale), and how many retrieved slots differ; last, one line over the whole
trace. `--max_relative` makes a difference above it an error (exit status 1).
"""
import json
import sys

import numpy as np
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string('trace', '', 'the .npz written by original/record_trace.py')
flags.DEFINE_float('max_relative', 0.0, 'fail when a relative difference exceeds this (0: off)')
flags.DEFINE_integer('intra_op_threads', 1, 'TensorFlow intra-op threads (0: default)')

# The original's parameter -> (this port's variable, transpose?): PyTorch's
# Linear keeps `[out, in]`, the port `[in, out]`, with a leading agent axis.
PARAMETER_MAP = {
    'i2h.weight': ('i2h_kernel', True), 'i2h.bias': ('i2h_bias', False),
    'h2h.weight': ('h2h_kernel', True), 'h2h.bias': ('h2h_bias', False),
    'a2c.actor.weight': ('actor_kernel', True), 'a2c.actor.bias': ('actor_bias', False),
    'a2c.critic.weight': ('critic_kernel', True), 'a2c.critic.bias': ('critic_bias', False),
}
STEP_FIELDS = ('f', 'i', 'o', 'r', 'm', 'c', 'h', 'policy', 'value')


def to_port(name, array):
  """An original parameter (or its gradient) in the port's layout `[1, ...]`."""
  _, transpose = PARAMETER_MAP[name]
  return (array.T if transpose else array)[None]


def load_trace(path):
  try:
    with np.load(path) as data:
      return {k: data[k] for k in data.files}
  except (OSError, ValueError) as error:
    raise SystemExit(f'error: cannot read the trace --trace={path!r}: {error}') from None


def replay(trace, intra_op_threads=1):
  """Runs the trace through the port. Returns (per-epoch records, overall record)."""
  from common import runtime
  tf = runtime.start_tensorflow(intra_op_threads, seed=0, inter_op_threads=1)
  from dnd_lstm.model.agent import Agent
  (_seed, n_epochs, n, length, _t_off, obs_dim, hidden, dict_len) = (
      int(v) for v in trace['settings'])
  agent = Agent(2 * obs_dim, hidden, 2, dict_len, seeds=[0],
                learning_rate=float(trace['learning_rate']))
  variables = {v.name.split(':')[0].split('/')[-1]: v for v in agent.variables_trained}
  for name, (port_name, _) in PARAMETER_MAP.items():
    variables[port_name].assign(to_port(name, trace[f'init/{name}']))
  order = [next(name for name, (p, _) in PARAMETER_MAP.items() if p == v.name.split(':')[0]
                .split('/')[-1]) for v in agent.variables_trained]

  @tf.function
  def train_trial(*args):
    result, grads = agent.gradients(*args)
    agent.optimizer.apply_gradients(grads, agent.variables_trained)
    return result, grads

  def scale(values):
    return float(np.max(np.abs(values))) or 1.0

  records, worst = [], {}
  trials = 2 * n
  for epoch in range(n_epochs):
    agent.dnd.reset_memory()
    diffs = {}
    index_mismatches = 0
    for m in range(trials):
      k = epoch * trials + m
      f32 = lambda a: tf.constant(np.asarray(a, np.float32)[None])
      args = (f32(trace['x'][k]), tf.constant(trace['y'][k][None].astype(np.int32)),
              f32(trace['h0'][k]), f32(trace['c0'][k]), tf.zeros([1, length], tf.float32),
              tf.constant(trace['action'][k][None].astype(np.int32)), tf.constant(True),
              tf.constant(m < n), tf.constant(True))
      result, grads = train_trial(*args)
      ours = {name: getattr(result.trace, name).numpy()[0] for name in STEP_FIELDS}
      for name in STEP_FIELDS:
        theirs = trace[name][k].reshape(ours[name].shape)
        diffs.setdefault(name, []).append((np.max(np.abs(ours[name] - theirs)), scale(theirs)))
      found = result.trace.found.numpy()[0]
      index_mismatches += int(np.sum(found != trace['found'][k]))
      index_mismatches += int(np.sum((result.trace.index.numpy()[0] != trace['index'][k]) & found))
      for name, ours_value in (('loss_policy', result.loss_policy.numpy()[0]),
                               ('loss_value', result.loss_value.numpy()[0])):
        theirs = trace[name][k]
        diffs.setdefault(name, []).append((abs(ours_value - theirs), max(abs(theirs), 1.0)))
      for grad, original_name, variable in zip(grads, order, agent.variables_trained):
        theirs = to_port(original_name, trace[f'grad/{original_name}'][k])
        diffs.setdefault('gradients', []).append(
            (float(np.max(np.abs(grad.numpy() - theirs))), scale(theirs)))
        after = to_port(original_name, trace[f'after/{original_name}'][k])
        diffs.setdefault('parameters_after_adam', []).append(
            (float(np.max(np.abs(variable.numpy() - after))), scale(after)))
    record = {'epoch': epoch, 'trials': trials, 'retrieved_slot_mismatches': index_mismatches}
    for name, pairs in diffs.items():
      absolute = max(a for a, _ in pairs)
      relative = max(a / s for a, s in pairs)
      record[name] = {'max_abs': float(f'{absolute:.3g}'), 'max_rel': float(f'{relative:.3g}')}
      previous = worst.get(name, (0.0, 0.0))
      worst[name] = (max(previous[0], absolute), max(previous[1], relative))
    records.append(record)
  overall = {'epochs': n_epochs, 'trials': n_epochs * trials,
             'retrieved_slot_mismatches': sum(r['retrieved_slot_mismatches'] for r in records),
             'torch_version': str(trace['torch_version'])}
  overall.update({name: {'max_abs': float(f'{a:.3g}'), 'max_rel': float(f'{r:.3g}')}
                  for name, (a, r) in worst.items()})
  return records, overall


def main(argv):
  del argv
  if not FLAGS.trace:
    raise SystemExit('error: --trace is required (record one with original/record_trace.py)')
  records, overall = replay(load_trace(FLAGS.trace), FLAGS.intra_op_threads)
  for record in records:
    print(json.dumps(record), flush=True)
  print(json.dumps(dict(overall, summary=True)), flush=True)
  if FLAGS.max_relative:
    worst = max(v['max_rel'] for v in overall.values() if isinstance(v, dict))
    if worst > FLAGS.max_relative or overall['retrieved_slot_mismatches']:
      print(f'error: a relative difference of {worst:.3g} (allowed {FLAGS.max_relative}) or '
            f'{overall["retrieved_slot_mismatches"]} retrieved-slot mismatches', file=sys.stderr)
      return 1
  return 0


if __name__ == '__main__':
  app.run(main)
