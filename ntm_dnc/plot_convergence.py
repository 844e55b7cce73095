"""Plot `benchmark.py --converge` output (JSON lines) into figures/.

  python benchmark.py --converge | tee converge.jsonl
  python plot_convergence.py converge.jsonl   # -> ../figures/ntm_dnc_convergence.png
"""
import json
import os
import sys

from common import plots


def main(paths, out=os.path.join(os.path.dirname(__file__), '..', 'figures',
                                 'ntm_dnc_convergence.png')):
  curves = {}
  for path in paths:
    with open(path) as handle:
      for line in handle:
        if not line.startswith('{'):
          continue  # TensorFlow's own log lines
        record = json.loads(line)
        if 'step' in record and 'bit_errors' in record and not record.get('final'):
          # Records before seeds were logged come from the default seed, 1.
          label = f"{record['config']} (seed {record.get('seed', 1)})"
          steps, errors = curves.setdefault(label, ([], []))
          steps.append(record['step'])
          errors.append(record['bit_errors'])
  if not curves:
    sys.exit(f'error: no convergence records in {", ".join(paths)}')
  plots.line_plot(curves, out, title='eval wrong bits per sequence (50 batches)',
                  x_label='training step', y_label='wrong bits / sequence', log_y=True)
  print(f'wrote {os.path.normpath(out)}')
  return list(curves)


if __name__ == '__main__':
  if len(sys.argv) < 2:
    sys.exit('usage: python plot_convergence.py CONVERGE_JSONL [...]')
  main(sys.argv[1:])
