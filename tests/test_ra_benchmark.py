"""Smoke test of recurrent_attention/benchmark.py: it prints one JSON line per setting."""
import json
import os
import subprocess
import sys

BENCHMARK = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         'recurrent_attention', 'benchmark.py')


def test_benchmark_prints_json_lines():
  done = subprocess.run([sys.executable, BENCHMARK, '--only=centered', '--threads=1', '--jit=0',
                         '--repeats=1', '--block_steps=2'], capture_output=True, text=True,
                        timeout=300)
  assert done.returncode == 0, done.stderr[-2000:]
  records = [json.loads(line) for line in done.stdout.splitlines() if line.startswith('{')]
  assert len(records) == 1
  record = records[0]
  assert record['experiment'] == 'centered' and record['threads'] == 1
  assert record['glimpses'] == 6 and record['batch_size'] == 128
  assert record['train_images_per_sec'] > 0 and record['eval_images_per_sec'] > 0
  assert record['peak_rss_mb'] > 0


def test_benchmark_rejects_unknown_experiment():
  done = subprocess.run([sys.executable, BENCHMARK, '--only=mnist'], capture_output=True,
                        text=True, timeout=60)
  assert done.returncode == 2 and 'unknown experiment' in done.stderr


def test_plot_results_draws_accuracy_and_catch_curves(tmp_path):
  from recurrent_attention import plot_results
  centered = tmp_path / 'centered.jsonl'
  records = [dict(epoch=e, step=3 * e, test_accuracy=50.0 + e, test_accuracy_mc=60.0 + e)
             for e in (1, 2, 3)]
  records.insert(1, dict(epoch=2, step=5, test_accuracy=1.0, test_accuracy_mc=1.0))  # partial
  centered.write_text('\n'.join(json.dumps(r) for r in records) + '\n')
  catch = tmp_path / 'catch'
  catch.mkdir()
  (catch / 'results.jsonl').write_text(json.dumps(dict(epoch=1, step=350, catch_rate=9.5)) + '\n')
  assert plot_results.main([str(centered), str(catch), f'--out_dir={tmp_path}']) == 0
  assert (tmp_path / 'ra_accuracy.png').stat().st_size > 0
  assert (tmp_path / 'ra_catch.png').stat().st_size > 0
  loaded = plot_results.load(str(centered))
  assert [r['test_accuracy'] for r in loaded] == [51.0, 52.0, 53.0]  # the later epoch 2 wins


def test_plot_results_drops_a_trailing_partial_epoch(tmp_path):
  from recurrent_attention import plot_results
  run = tmp_path / 'run.jsonl'
  rows = [dict(epoch=1, step=350, complete_epoch=True, catch_rate=9.0),
          dict(epoch=2, step=400, complete_epoch=False, catch_rate=2.0)]  # interrupted
  run.write_text('\n'.join(json.dumps(r) for r in rows) + '\n')
  assert [r['epoch'] for r in plot_results.load(str(run))] == [1]


def test_plot_results_reads_the_originals_logs(tmp_path):
  from recurrent_attention import plot_results
  clutter = tmp_path / 'original_cluttered.log'
  clutter.write_text(
      '[21s] ====> Epoch: 1 Average loss: a 2.3004 l -0.0014 b 0.1029 Reward: 11.6\n'
      '[24s] ====> Epoch: 1 Average loss: a 2.3017 l -0.0093 b 0.1030 Reward: 11.7\n'
      'unrelated line\n'
      '====> Epoch: 2 Average loss: a 2.2638 l -0.0005 b 0.1297 Reward: 15.3\n'
      '====> Epoch: 2 Average loss: a 2.2311 l 0.0268 b 0.1411 Reward: 17.0\n'
      '====> Epoch: 3 Average loss: a 2.2 l 0.02 b 0.14 Reward: 18.0\n')  # test pass missing
  records = plot_results.load(str(clutter))
  assert [(r['epoch'], r['train_accuracy'], r['test_accuracy']) for r in records] == [
      (1, 11.6, 11.7), (2, 15.3, 17.0)]
  catch = tmp_path / 'original_catch.log'
  catch.write_text('====> Epoch: 1 Average loss: a -0.0066 l -0.0013 b 0.0771 Reward: 8.4 '
                   'baseline: 0.088\n'
                   '====> Epoch: 2 Average loss: a -0.0033 l 0.0018 b 0.0769 Reward: 8.3 '
                   'baseline: 0.085\n')
  assert [(r['epoch'], r['catch_rate']) for r in plot_results.load(str(catch))] == [
      (1, 8.4), (2, 8.3)]
  assert plot_results.name_of(str(catch)) == 'original_catch'
  assert plot_results.main([str(clutter), str(catch), f'--out_dir={tmp_path}']) == 0
  assert (tmp_path / 'ra_accuracy.png').stat().st_size > 0
  assert (tmp_path / 'ra_catch.png').stat().st_size > 0
