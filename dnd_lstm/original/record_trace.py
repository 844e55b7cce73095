"""Record a trace of the ORIGINAL qihongl/dnd-lstm (PyTorch) for `compare_original.py`.

Runs under a Python with torch (not this repository's environment), from
anywhere:

  /path/to/torch/python record_trace.py --original_src=/path/to/dnd-lstm/src \
      --out=/tmp/original_trace.npz [--n_epochs=1 --seed=0 ...]

It drives the original's own classes (`task.ContextualChoice`, `model.DNDLSTM`,
`model.utils`) through the loop of its `contextual-choice.py` (seeding torch and
numpy, then the task, the agent and Adam in that order, so seed 0 is the
shipped run) and records, per trial: the stimuli, h0 / c0, the sampled
actions, per step the gates f, i, o, r, m (= tanh of the retrieved value), c,
h, the policy, the value and the retrieved slot, the losses, every gradient
and every parameter after the Adam step; and the initial parameters. Nothing
of the original is copied here: it is imported from --original_src.
"""
import os
import sys
import time

import numpy as np
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string('original_src', '', "the original's src/ folder (holds task/, model/)")
flags.DEFINE_string('out', 'original_trace.npz', 'the .npz file to write')
flags.DEFINE_integer('seed', 0, 'torch.manual_seed and np.random.seed (the original: 0)')
flags.DEFINE_integer('n_epochs', 1, 'epochs to record (the original trains 20)')
flags.DEFINE_integer('n_unique_example', 50, 'unique trials per epoch')
flags.DEFINE_integer('trial_length', 10, 'time steps per trial')
flags.DEFINE_integer('t_noise_off', 5, 'first step without noise')
flags.DEFINE_integer('obs_dim', 32, 'evidence width')
flags.DEFINE_integer('dim_hidden', 32, 'hidden width')
flags.DEFINE_integer('dict_len', 100, 'DND capacity')
flags.DEFINE_float('learning_rate', 5e-4, 'Adam learning rate')
flags.DEFINE_integer('threads', 1, 'torch.set_num_threads')

PARAMETERS = ('i2h.weight', 'i2h.bias', 'h2h.weight', 'h2h.bias', 'a2c.actor.weight',
              'a2c.actor.bias', 'a2c.critic.weight', 'a2c.critic.bias')


def main(argv):
  del argv
  if not os.path.isdir(os.path.join(FLAGS.original_src, 'model')):
    sys.exit(f'error: --original_src={FLAGS.original_src!r} is not the original\'s src/ folder')
  sys.path.insert(0, os.path.abspath(FLAGS.original_src))
  import torch
  from model import DNDLSTM
  from model.DND import compute_similarities
  from model.utils import compute_a2c_loss, compute_returns, get_reward
  from task import ContextualChoice

  torch.set_num_threads(FLAGS.threads)
  torch.manual_seed(FLAGS.seed)
  np.random.seed(FLAGS.seed)
  n, length = FLAGS.n_unique_example, FLAGS.trial_length
  task = ContextualChoice(obs_dim=FLAGS.obs_dim, trial_length=length,
                          t_noise_off=FLAGS.t_noise_off)
  agent = DNDLSTM(task.x_dim, FLAGS.dim_hidden, 2, FLAGS.dict_len)
  optimizer = torch.optim.Adam(agent.parameters(), lr=FLAGS.learning_rate)
  named = dict(agent.named_parameters())
  assert tuple(named) == PARAMETERS, tuple(named)
  record = {f'init/{k}': v.detach().numpy().copy() for k, v in named.items()}
  per_trial = {name: [] for name in ('x', 'y', 'h0', 'c0', 'action', 'f', 'i', 'o', 'r', 'm', 'c',
                                     'h', 'policy', 'value', 'index', 'found', 'loss_policy',
                                     'loss_value', *[f'grad/{p}' for p in PARAMETERS],
                                     *[f'after/{p}' for p in PARAMETERS])}
  start = time.time()
  for epoch in range(FLAGS.n_epochs):
    X, Y = task.sample(n)
    agent.reset_memory()
    agent.turn_on_retrieval()
    for m in range(2 * n):
      h, c = agent.get_init_states()
      per_trial['x'].append(X[m].numpy())
      per_trial['y'].append(Y[m].numpy()[:, 0])
      per_trial['h0'].append(h.numpy()[0, 0])
      per_trial['c0'].append(c.numpy()[0, 0])
      steps = {name: [] for name in ('action', 'f', 'i', 'o', 'r', 'm', 'c', 'h', 'policy',
                                     'value', 'index', 'found')}
      log_probs, rewards, values = [], [], []
      for t in range(length):
        agent.turn_off_encoding()
        if t == length - 1 and m < n:
          agent.turn_on_encoding()
        keys = agent.dnd.keys
        if keys:  # the slot the original's 1-NN argmax picks (its list order = insertion order)
          similarity = compute_similarities(X[m][t].view(1, -1), keys, agent.dnd.kernel)
          steps['index'].append(int(torch.argmax(similarity)))
        else:
          steps['index'].append(0)
        steps['found'].append(bool(keys))
        (a_t, log_prob, v_t, h, c), (f_t, i_t, o_t, r_t, m_t) = agent(X[m][t].view(1, 1, -1), h, c)
        policy = agent.a2c.forward(h.view(1, -1))[0]
        for name, value in (('f', f_t), ('i', i_t), ('o', o_t), ('r', r_t), ('m', m_t),
                            ('c', c), ('h', h), ('policy', policy)):
          steps[name].append(value.detach().numpy().reshape(-1))
        steps['action'].append(int(a_t))
        steps['value'].append(float(v_t))
        log_probs.append(log_prob)
        rewards.append(get_reward(a_t, Y[m][t]))
        values.append(v_t)
      returns = compute_returns(rewards)
      loss_policy, loss_value = compute_a2c_loss(log_probs, values, returns)
      optimizer.zero_grad()
      (loss_policy + loss_value).backward()
      for p in PARAMETERS:
        per_trial[f'grad/{p}'].append(named[p].grad.numpy().copy())
      optimizer.step()
      for p in PARAMETERS:
        per_trial[f'after/{p}'].append(named[p].detach().numpy().copy())
      for name, value in steps.items():
        per_trial[name].append(np.array(value))
      per_trial['loss_policy'].append(float(loss_policy))
      per_trial['loss_value'].append(float(loss_value))
    print(f'epoch {epoch}: recorded {2 * n} trials ({time.time() - start:.1f} s)', flush=True)
  record.update({k: np.array(v) for k, v in per_trial.items()})
  record['settings'] = np.array([FLAGS.seed, FLAGS.n_epochs, n, length, FLAGS.t_noise_off,
                                 FLAGS.obs_dim, FLAGS.dim_hidden, FLAGS.dict_len])
  record['learning_rate'] = np.array(FLAGS.learning_rate)
  record['torch_version'] = np.array(torch.__version__)
  np.savez_compressed(FLAGS.out, **record)
  print(f'wrote {FLAGS.out}')


if __name__ == '__main__':
  app.run(main)
