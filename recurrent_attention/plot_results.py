"""Plot the per-epoch results of RAM runs (their `results.jsonl`) into figures/.

  python plot_results.py ../figures/ra_centered_6.jsonl ../figures/ra_translated_4.jsonl ...
  python plot_results.py checkpoints/centered_6glimpses   # a run directory works too

Classification runs go into `ra_accuracy.png` (test accuracy per epoch, one
stochastic pass, and the M-sample Monte-Carlo average where the run logged it);
Catch runs into `ra_catch.png` (training catch rate per 350-batch epoch).
A curve is named after its file (or directory).
"""
import argparse
import json
import os
import sys

from common import visualize

FIGURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'figures')


def load(path):
  """The complete-epoch records of one run (a results.jsonl file or a run directory)."""
  if os.path.isdir(path):
    path = os.path.join(path, 'results.jsonl')
  try:
    with open(path) as handle:
      records = [json.loads(line) for line in handle if line.startswith('{')]
  except (OSError, ValueError) as error:
    sys.exit(f'error: cannot read results from {path!r}: {error}')
  # An interrupted run logs a partial epoch (complete_epoch false); resumed, it logs the
  # same epoch again, completed. Plot complete epochs only.
  by_epoch = {r['epoch']: r for r in records if r.get('complete_epoch', True)}
  return [by_epoch[e] for e in sorted(by_epoch)]


def name_of(path):
  base = os.path.basename(os.path.normpath(path))
  return base[:-len('.jsonl')] if base.endswith('.jsonl') else base


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('runs', nargs='+', help='results.jsonl files or run directories')
  parser.add_argument('--out_dir', default=FIGURES, help='where the PNGs go (default figures/)')
  opts = parser.parse_args(argv)
  accuracy, catch_rate = {}, {}
  for path in opts.runs:
    records, name = load(path), name_of(path)
    if not records:
      sys.exit(f'error: no epoch records in {path!r}')
    epochs = [r['epoch'] for r in records]
    if 'catch_rate' in records[0]:
      catch_rate[name] = (epochs, [r['catch_rate'] for r in records])
      continue
    accuracy[name] = (epochs, [r['test_accuracy'] for r in records])
    if 'test_accuracy_mc' in records[0]:
      accuracy[name + ' (MC avg)'] = (epochs, [r['test_accuracy_mc'] for r in records])
  written = []
  if accuracy:
    written.append(os.path.join(opts.out_dir, 'ra_accuracy.png'))
    visualize.line_plot(accuracy, written[-1], title='RAM test accuracy after each epoch',
                        x_label='epoch', y_label='test accuracy (%)', legend='lower right')
  if catch_rate:
    written.append(os.path.join(opts.out_dir, 'ra_catch.png'))
    visualize.line_plot(catch_rate, written[-1], title='RAM on Catch: training catch rate',
                        x_label='epoch (350 batches of 64 games)', y_label='balls caught (%)',
                        legend='lower right')
  for path in written:
    print(f'wrote {os.path.normpath(path)}')
  return 0


if __name__ == '__main__':
  sys.exit(main())
