"""ntm_dnc/benchmark.py runs and prints its JSON lines (tiny settings)."""
import json

from ntm_dnc import benchmark

TINY = ['--mem_hei=4', '--hidden_dim=8', '--min_num_words=1', '--max_num_words=1']


def _records(capsys):
  return [json.loads(line) for line in capsys.readouterr().out.splitlines()
          if line.startswith('{')]


def test_speed_worker_prints_figures(capsys, monkeypatch):
  monkeypatch.setattr(benchmark, 'EXTRA_FLAGS', list(TINY))
  benchmark.speed_worker('d_dnc_copy', 'graph', 0, with_ratios=False)
  (record,) = _records(capsys)
  assert record['config'] == 'd_dnc_copy' and record['compile'] == 'graph'
  assert record['steps_per_sec'] > 0 and record['peak_rss_mb'] > 0
  assert record['sequences_per_sec'] == round(16 * record['steps_per_sec'], 1) or \
      abs(record['sequences_per_sec'] - 16 * record['steps_per_sec']) < 1


def test_converge_reports_progress_and_final_line(capsys, tmp_path):
  flags = ['--config=2', f'--checkpoint_dir={tmp_path}'] + TINY
  benchmark.converge('dnc_repeat_copy', flags, max_steps=2, threshold=0.1, eval_every=1,
                     eval_batches=1)
  records = _records(capsys)
  assert [r['step'] for r in records if not r.get('final')] == [1, 2]
  assert records[-1]['final'] and records[-1]['steps'] == 2 and not records[-1]['converged']
  assert all(r['seed'] == 1 for r in records)


def test_plot_convergence_draws_one_curve_per_config_and_seed(tmp_path):
  from ntm_dnc import plot_convergence
  log = tmp_path / 'converge.jsonl'
  rows = [{'config': 'ntm_copy', 'step': s, 'eval_loss': 0.01, 'bit_errors': 10.0 / s}
          for s in (500, 1000)]  # an old log without seeds: seed 1
  rows += [{'config': 'ntm_copy', 'seed': 2, 'step': s, 'eval_loss': 0.01, 'bit_errors': 1.0}
           for s in (500, 1000)]
  rows.append({'config': 'ntm_copy', 'seed': 2, 'converged': False, 'steps': 1000, 'final': True})
  log.write_text('\n'.join(json.dumps(r) for r in rows) + '\nTensorFlow noise\n')
  out = tmp_path / 'curves.png'
  labels = plot_convergence.main([str(log)], out=str(out))
  assert out.exists() and labels == ['ntm_copy (seed 1)', 'ntm_copy (seed 2)']
