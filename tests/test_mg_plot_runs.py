"""The multigrid plot_run.py scripts: a run's log -> curves (PNG) and JSON lines."""
import json
import os
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'multigrid_memory')

RECALL_LOG = '''[INFO    ] (MainProcess) Step 0: loss = 82.5
[INFO    ] (MainProcess) Step 0: recall accuracy 0.0938 (this batch), 0.0781 (test set, 4 batches) | lr 0.001 | 0m01s
[INFO    ] (MainProcess) Step 1000: loss = 70.25
[INFO    ] (MainProcess) Step 1000: recall accuracy 0.1562 (this batch), 0.1328 (test set, 4 batches) | lr 0.001 | 0m31s
'''
MAPPING_LOG = '''[INFO    ] (MainProcess) Step 0: loss = 1026257.75
[INFO    ] (MainProcess) Step 0: this chunk: precision 0.003 recall 1.000 top-1 0.000 | fresh episode (4 mazes): precision 0.001 recall 1.000 top-1 0.000 loss/query 1602.77 | lr 0.001 | 0m11s
[INFO    ] (MainProcess) Step 1000: loss = 30000.5
[INFO    ] (MainProcess) Step 1000: this chunk: precision 0.000 recall 0.000 top-1 0.125 | fresh episode (4 mazes): precision 0.000 recall 0.000 top-1 0.250 loss/query 48.37 | lr 0.001 | 6m31s
[INFO    ] (MainProcess) Step 1500: loss = 200.0
[INFO    ] (MainProcess) Step 1500: this chunk: precision 0.500 recall 0.250 top-1 0.625 | fresh episode (16 mazes): precision 0.812 recall 0.868 top-1 0.748 (a random visited cell: 0.356) loss/query 2.77 | lr 0.000996 | 3m41s
'''


def plot(task, log_text, tmp_path, *outputs):
  log = tmp_path / 'log.txt'
  log.write_text(log_text)
  out = str(tmp_path / 'curve')
  done = subprocess.run([sys.executable, os.path.join(ROOT, task, 'plot_run.py'), f'--log={log}',
                         f'--out={out}'], capture_output=True, text=True, timeout=120)
  assert done.returncode == 0, done.stderr[-2000:]
  for suffix in outputs:
    assert os.path.getsize(out + suffix) > 1000
  with open(out + '.jsonl') as handle:
    return [json.loads(line) for line in handle]


def test_recall_curves(tmp_path):
  rows = plot('mnist_recall', RECALL_LOG, tmp_path, '_loss.png', '_accuracy.png')
  assert rows == [{'step': 0, 'loss': 82.5, 'train_accuracy': 0.0938, 'test_accuracy': 0.0781},
                  {'step': 1000, 'loss': 70.25, 'train_accuracy': 0.1562, 'test_accuracy': 0.1328}]


def test_mapping_curves(tmp_path):
  rows = plot('mapping_localization', MAPPING_LOG, tmp_path, '_loss.png', '_localisation.png')
  assert [r['step'] for r in rows] == [0, 1000, 1500] and rows[1]['loss'] == 30000.5
  assert rows[1]['train_top1'] == 0.125 and rows[1]['eval_top1'] == 0.25
  assert rows[0]['eval_recall'] == 1.0 and rows[0]['eval_loss'] == 1602.77
  assert 'eval_chance_top1' not in rows[1]                    # logs before the baseline existed
  assert rows[2]['eval_chance_top1'] == 0.356 and rows[2]['eval_top1'] == 0.748


def test_a_log_without_losses_is_one_line(tmp_path):
  log = tmp_path / 'log.txt'
  log.write_text('nothing here\n')
  done = subprocess.run([sys.executable, os.path.join(ROOT, 'mapping_localization', 'plot_run.py'),
                         f'--log={log}', f'--out={tmp_path / "x"}'], capture_output=True,
                        text=True, timeout=120)
  assert done.returncode != 0 and 'no "Step g: loss = L" lines' in done.stderr
