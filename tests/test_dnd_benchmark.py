"""Smoke tests of dnd_lstm/benchmark.py: JSON lines, bad suites, the 10-seed figure."""
import json
import os
import subprocess
import sys

BENCHMARK = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         'dnd_lstm', 'benchmark.py')


def test_retrieval_suite_prints_json_lines():
  done = subprocess.run([sys.executable, BENCHMARK, '--suites=retrieval', '--threads=1',
                         '--stored=100,2000', '--queries=1,8'], capture_output=True, text=True,
                        timeout=300)
  assert done.returncode == 0, done.stderr[-2000:]
  records = [json.loads(line) for line in done.stdout.splitlines() if line.startswith('{')]
  assert records[0]['measured_peak_gflops'] > 0
  rows = records[1:]
  assert [(r['stored_keys'], r['queries']) for r in rows] == [(100, 1), (100, 8), (2000, 1),
                                                             (2000, 8)]
  assert all(r['latency_ms'] > 0 and r['flop_bound_ms'] > 0 for r in rows)


def test_unknown_suite_is_refused():
  done = subprocess.run([sys.executable, BENCHMARK, '--suites=speedy'], capture_output=True,
                        text=True, timeout=60)
  assert done.returncode != 0 and "unknown --suites ['speedy']" in done.stderr


def test_accuracy_figure_from_records(tmp_path):
  from dnd_lstm import benchmark
  seeds = [dict(first_by_time=[0.5] * 5 + [1.0] * 5, repeated_by_time=[0.8] * 5 + [1.0] * 5)
           for _ in range(3)]
  control = [dict(repeated_by_time=[0.5] * 5 + [1.0] * 5) for _ in range(3)]
  path = tmp_path / 'acc.png'
  benchmark.accuracy_figure(seeds, control, str(path))
  assert path.stat().st_size > 1000
