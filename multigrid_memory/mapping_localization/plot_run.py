"""The learning curves of a mapping & localization run from its log, beside spec
6.1's read-off points of the original README curve:
`python plot_run.py --log=DIR/log.txt --out=../../figures/mg_mapping_cpu` writes
`<out>_loss.png` (summed loss per chunk), `<out>_localisation.png` (precision,
recall and top-1 on the fresh evaluation episodes, beside the top-1 of guessing a
random visited cell where the log has it) and `<out>.jsonl`."""
import json
import re

from absl import app, flags

from common import plots
from multigrid_memory.training import log_rows, running_mean, write_rows

flags.DEFINE_string('log', 'checkpoints_dir/log.txt', "the run's log.txt")
flags.DEFINE_string('out', 'mg_mapping_run', 'output prefix (_loss.png, _localisation.png, .jsonl)')
flags.DEFINE_string('title', 'mapping & localization, defaults, CPU', 'the plots\' title')
flags.DEFINE_boolean('readme_points', True, "draw the original README curve's read-off points "
                     '(for runs with the default settings)')
flags.DEFINE_integer('smooth', 10, 'logs in the running mean of the curves')
FLAGS = flags.FLAGS

# The original README's curve, read off by eye (spec 6.1): (time step, summed loss);
# 1.2-2e4 and very noisy to ~250k, ~4e3 at 500k, ~0 by 650-700k.
README_POINTS = ((50000, 16000.0), (250000, 12000.0), (500000, 4000.0), (700000, 0.0),
                 (2000000, 0.0))
README_BAND = (250000, 20000.0, 12000.0)          # (until, high, low)
LOSS = re.compile(r'Step (\d+): loss = ([-\d.eE+naif]+)')
QUALITY = re.compile(r'Step (\d+): this chunk: precision ([\d.]+) recall ([\d.]+) top-1 ([\d.]+)'
                     r'(?: \| fresh episode \(\d+ mazes\): precision ([\d.]+) recall ([\d.]+) '
                     r'top-1 ([\d.]+)(?: \(a random visited cell: ([\d.]+)\))?'
                     r' loss/query ([\d.]+))?')


def main(argv):
  del argv
  names = ('train_precision', 'train_recall', 'train_top1', 'eval_precision', 'eval_recall',
           'eval_top1', 'eval_chance_top1', 'eval_loss')
  rows, steps = log_rows(FLAGS.log, (
      (LOSS, lambda m: {'loss': float(m[2])}),
      (QUALITY, lambda m: {n: float(v) for n, v in zip(names, m.groups()[1:]) if v is not None})))
  write_rows(FLAGS.out + '.jsonl', rows, steps)
  smooth = lambda v: running_mean(v, FLAGS.smooth)
  loss = [rows[s]['loss'] for s in steps]
  curves = {'this port: summed loss of the chunk': (steps, loss)}
  if FLAGS.smooth > 1:
    curves[f'this port: mean of {FLAGS.smooth} logs'] = (steps, smooth(loss))
  if FLAGS.readme_points and steps[-1] < README_BAND[0]:
    # A short run: the band the original's curve stays in over its first 250k steps.
    for level in README_BAND[1:]:
      curves[f'original README, first 250k steps (read off): {level:.3g}'] = (
          [0, steps[-1]], [level, level])
  elif FLAGS.readme_points:
    readme = [p for p in README_POINTS if p[0] <= steps[-1]]
    curves['original README (read off)'] = ([p[0] for p in readme], [p[1] for p in readme])
  plots.line_plot(curves, FLAGS.out + '_loss.png', title=FLAGS.title, x_label='time step',
                  y_label='summed sigmoid cross-entropy (log scale)', log_y=True,
                  legend='outside')
  curves = {}
  for key, label in (('eval_precision', 'precision'), ('eval_recall', 'recall'),
                     ('eval_top1', 'top-1 cell is a true location'),
                     ('eval_chance_top1', 'top-1 of a random visited cell')):
    have = [s for s in steps if key in rows[s]]
    if have:
      curves[f'fresh episode: {label}' + (f' (mean of {FLAGS.smooth})' if FLAGS.smooth > 1
                                           else '')] = (have, smooth([rows[s][key] for s in have]))
  if curves:
    plots.line_plot(curves, FLAGS.out + '_localisation.png', title=FLAGS.title,
                    x_label='time step', y_label='localisation (threshold 0.5)',
                    legend='outside')
  print(json.dumps({'logged_steps': len(steps), 'last_step': steps[-1], 'last_loss': loss[-1],
                    'mean_loss_last_10': smooth(loss)[-1]}))


if __name__ == '__main__':
  app.run(main)
