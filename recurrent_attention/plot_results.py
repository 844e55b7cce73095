"""Plot the per-epoch results of RAM runs (their `results.jsonl`) into figures/.

  python plot_results.py ../figures/ra_centered_6.jsonl ../figures/ra_translated_4.jsonl ...
  python plot_results.py checkpoints/centered_6glimpses   # a run directory works too
  python plot_results.py ../figures/ra_*.jsonl ../figures/original_*.log  # with the original's runs

Classification runs go into `ra_accuracy.png` (test accuracy per epoch, one
stochastic pass, and the M-sample Monte-Carlo average where the run logged it);
Catch runs into `ra_catch.png` (training catch rate per 350-batch epoch).
A curve is named after its file (or directory).

A `.log` file is the standard output of one of the original's scripts
(`RAM_cluttered.py`, `RAM_catch.py`, ...): per epoch it prints
`====> Epoch: N Average loss: a .. l .. b .. Reward: R` once for training and,
for classification, once more for the test pass (Catch adds `baseline: ..`).
Text before `====>` on a line (a timestamp, say) is ignored.
"""
import argparse
import json
import os
import re
import sys

from common import plots

FIGURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'figures')


ORIGINAL_LINE = re.compile(r'====> Epoch: (\d+) Average loss: a (\S+) l (\S+) b (\S+) '
                           r'Reward: ([0-9.]+)(?: baseline: (\S+))?')


def load_original_log(path):
  """Per-epoch records, in this port's keys, from the original's printed log.

  Classification epochs print a training line then a test line; an epoch whose
  test line is missing (the run was stopped) is dropped. Catch prints one line.
  """
  try:
    with open(path) as handle:
      matches = [m for m in map(ORIGINAL_LINE.search, handle) if m]
  except OSError as error:
    sys.exit(f'error: cannot read the original\'s log {path!r}: {error}')
  lines = {}
  for match in matches:
    lines.setdefault(int(match.group(1)), []).append(match)
  records = []
  for epoch in sorted(lines):
    first = lines[epoch][0]
    if first.group(6) is not None:  # Catch: "... Reward: R baseline: b"
      records.append(dict(epoch=epoch, catch_rate=float(first.group(5)),
                          baseline=float(first.group(6))))
    elif len(lines[epoch]) >= 2:
      records.append(dict(epoch=epoch, train_accuracy=float(first.group(5)),
                          test_accuracy=float(lines[epoch][1].group(5))))
  return records


def load(path):
  """The complete-epoch records of one run (a results.jsonl file, a run directory, or
  the original's log)."""
  if path.endswith('.log'):
    return load_original_log(path)
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
  for suffix in ('.jsonl', '.log'):
    if base.endswith(suffix):
      return base[:-len(suffix)]
  return base


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('runs', nargs='+', help='results.jsonl files, run directories or the original\'s .log files')
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
    plots.line_plot(accuracy, written[-1], title='RAM test accuracy after each epoch',
                    x_label='epoch', y_label='test accuracy (%)', legend='lower right')
  if catch_rate:
    written.append(os.path.join(opts.out_dir, 'ra_catch.png'))
    plots.line_plot(catch_rate, written[-1], title='RAM on Catch: training catch rate',
                    x_label='epoch (350 batches of 64 games)', y_label='balls caught (%)',
                    legend='center right')
  for path in written:
    print(f'wrote {os.path.normpath(path)}')
  return 0


if __name__ == '__main__':
  sys.exit(main())
