"""The learning curve of a training run from its log, beside spec 6.1's read-off
points of the original README curve: `python plot_run.py --log=DIR/log.txt
--out=../../figures/mg_recall_cpu` writes `<out>.png` (summed loss, recall accuracy)
and `<out>.jsonl` (one line per logged time step)."""
import json
import re

from absl import app, flags

from common import plots
from multigrid_memory.training import log_rows, running_mean, write_rows

flags.DEFINE_string('log', 'checkpoints/log.txt', 'the run\'s log.txt')
flags.DEFINE_string('out', 'mg_recall_run', 'output prefix (.png and .jsonl are added)')
FLAGS = flags.FLAGS

# The original README's MNIST curve, read off by eye (spec 6.1): (time step, summed loss).
README_POINTS = ((0, 73.7), (100000, 67.5), (150000, 67.5), (200000, 25.0), (250000, 25.0),
                 (400000, 15.0), (800000, 10.0))
LOSS = re.compile(r'Step (\d+): loss = ([-\d.eE+naif]+)')
ACCURACY = re.compile(r'Step (\d+): recall accuracy ([\d.]+) \(this batch\), ([\d.na]+) \(test')


def main(argv):
  del argv
  rows, steps = log_rows(FLAGS.log, (
      (LOSS, lambda m: {'loss': float(m[2])}),
      (ACCURACY, lambda m: {'train_accuracy': float(m[2]), 'test_accuracy': float(m[3])})))
  write_rows(FLAGS.out + '.jsonl', rows, steps)
  smooth = lambda v: running_mean(v, 20)
  loss = [rows[s]['loss'] for s in steps]
  readme = [p for p in README_POINTS if p[0] <= steps[-1]]
  plots.line_plot({'this port: summed loss per batch': (steps, loss),
                   'this port: mean of 20 logs': (steps, smooth(loss)),
                   'original README (read off)': ([p[0] for p in readme], [p[1] for p in readme])},
                  FLAGS.out + '_loss.png', title='MNIST recall, defaults, CPU',
                  x_label='time step', y_label='summed cross-entropy (32 queries)',
                  legend='center right')
  test = [rows[s].get('test_accuracy', float('nan')) for s in steps]
  train = [rows[s].get('train_accuracy', float('nan')) for s in steps]
  plots.line_plot({'training batch (mean of 20 logs)': (steps, smooth(train)),
                   'test batches (mean of 20 logs)': (steps, smooth(test))},
                  FLAGS.out + '_accuracy.png', title='MNIST recall accuracy, defaults, CPU',
                  x_label='time step', y_label='recall accuracy', legend='upper left')
  print(json.dumps({'logged_steps': len(steps), 'last_step': steps[-1], 'last_loss': loss[-1],
                    'mean_loss_last_20': smooth(loss)[-1]}))


if __name__ == '__main__':
  app.run(main)
