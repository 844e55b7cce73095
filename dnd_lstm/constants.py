"""Every setting of the DND-LSTM port, named as in qihongl/dnd-lstm's
`contextual-choice.py` (spec dnd_lstm.md 6.2).

Edit this file, or override any UPPERCASE name on the command line as
`python main.py --lowercase_name=value`, e.g. `python main.py --n_agents=10`.
Defaults reproduce the original; its quirk (two summed bias vectors) is a
switch, faithful by default; the options beyond it (k-NN reads, LRU eviction,
large capacity, the ablations, many agents at once) are off.
"""
from common.config import ConfigError

MODE = 'train'                  # 'train' (then the analyses of the last epoch) or 'test'
SEED = 0                        # the run's seed: the task's numpy stream (the original's
                                # np.random.seed), the initial weights, h0 / c0 and actions
N_AGENTS = 1                    # agents trained side by side with seeds SEED .. SEED+N_AGENTS-1;
                                # each one's figures are those of a run of its seed alone
CHECKPOINT_DIR = 'checkpoints/contextual-choice_seed{SEED}'  # {NAMES} filled from these
RESTART = False                 # train from trial 0 even if CHECKPOINT_DIR holds checkpoints
                                # (they are moved aside, never deleted)
VISUALIZE = True
SAVE_VIS_INTERVAL = 10          # epochs between figure folders CHECKPOINT_DIR/<epoch>/ (0 = only
                                # after the last epoch, as the original's analyses)
VIS_TRIALS = 2                  # unique trials whose per-step gates / retrievals are drawn
                                # (first and repeated presentation each)
MAX_KEEP_CHECKPOINTS = 3
SAVE_INTERVAL = 0               # trials between checkpoints; 0 = at the end of every epoch
SAVE_INTERVAL_MINUTES = 0.0     # also save once this many minutes passed since the last save;
                                # 0 = off
VERBOSE = 0                     # 1: also each trial's return and losses

# Task (ContextualChoice).
N_UNIQUE_EXAMPLE = 50           # unique trials per epoch; each is shown twice (n_trials = 2x)
TRIAL_LENGTH = 10               # time steps per trial
T_NOISE_OFF = 5                 # the first steps whose evidence is pure noise
OBS_DIM = 32                    # evidence width (the context has the same width)

# Model (DNDLSTM, A2C_linear).
DIM_HIDDEN = 32                 # LSTM hidden / cell width = the memory value width
DIM_OUTPUT = 2                  # actions
DICT_LEN = 100                  # DND capacity (entries per agent)
KERNEL = 'l2'                   # similarity: 'l2' (-Euclidean), 'l1' (-Manhattan) or 'cosine'
POLICY = '1NN'                  # retrieval: '1NN' (the original) or 'kNN' (NEC's inverse-distance
                                # kernel over the KNN_K nearest by L2; not original)
KNN_K = 50                      # kNN: neighbours (NEC's p = 50); at most DICT_LEN
KNN_DELTA = 1e-3                # kNN: the kernel 1 / (d^2 + delta)'s delta (NEC's)
EVICTION = 'FIFO'               # when full: 'FIFO' drops the oldest (the original), 'LRU' the
                                # entry longest without a read or write (NEC; not original)
INIT_STATE_SCALE = 0.1          # h0, c0 ~ N(0, scale^2), drawn anew for every trial
BETA = 1.0                      # softmax temperature of the policy
TWO_BIASES = True               # the original's two summed bias vectors (i2h, h2h), which Adam
                                # moves about 2x as fast as one (spec 9.9); False: one bias

# Controls (the spec's ablations), in training and test.
RETRIEVAL_OFF = False           # the DND is never read (every read is zeros)
ENCODING_OFF = False            # the DND is never written

# Loss and optimiser.
LEARNING_RATE = 5e-4            # Adam (PyTorch's rule; betas 0.9, 0.999)
ADAM_EPS = 1e-8                 # PyTorch's default (Keras' is 1e-7)
GAMMA = 0.0                     # discount of the returns; 0: R_t = r_t (the original)
NORMALIZE_RETURNS = False       # standardise each trial's returns (the original's option, off)
N_EPOCHS = 20                   # epochs of 2 x N_UNIQUE_EXAMPLE trials, one Adam step per trial

# Analyses and figures.
N_SE = 2                        # error bars of the accuracy plot: +- N_SE standard errors

# Compilation, threads and precision.
JIT_COMPILE = False             # XLA for the compiled trial (see README, benchmark.py)
INTRA_OP_THREADS = 1            # TensorFlow intra-op threads; 0 = TF's default
INTER_OP_THREADS = 1            # ops run side by side; 1: one at a time (the trial is a chain
                                # of small ops; repeated runs were not bit-identical with more)
DTYPE = 'float32'               # 'float32' (the original) or 'float64' (for reference checks)

# Allowed values; checked when flags are parsed. Every int and float has a range
# (tests/test_config.py checks it); an open int range is capped at 2**31 - 1.
CONSTRAINTS = {
    'MODE': ('train', 'test'),
    'SEED': (0, 2 ** 32 - 1),   # numpy's legacy RandomState range
    'N_AGENTS': (1, 4096),
    'SAVE_VIS_INTERVAL': (0, None), 'VIS_TRIALS': (0, 1000), 'MAX_KEEP_CHECKPOINTS': (1, None),
    'SAVE_INTERVAL': (0, None), 'SAVE_INTERVAL_MINUTES': (0.0, None), 'VERBOSE': (0, 1),
    'N_UNIQUE_EXAMPLE': (1, 100000), 'TRIAL_LENGTH': (1, 1000), 'T_NOISE_OFF': (0, 999),
    'OBS_DIM': (1, 100000),
    'DIM_HIDDEN': (1, 4096), 'DIM_OUTPUT': (2, 1000), 'DICT_LEN': (1, None),
    'KERNEL': ('l2', 'l1', 'cosine'), 'POLICY': ('1NN', 'kNN'), 'KNN_K': (1, None),
    'KNN_DELTA': (1e-12, None), 'EVICTION': ('FIFO', 'LRU'),
    'INIT_STATE_SCALE': (0.0, None), 'BETA': (1e-6, None),
    'LEARNING_RATE': (0.0, None), 'ADAM_EPS': (0.0, None), 'GAMMA': (0.0, 1.0),
    'N_EPOCHS': (0, 1000000), 'N_SE': (0.0, None),
    'INTRA_OP_THREADS': (0, 256), 'INTER_OP_THREADS': (0, 256), 'DTYPE': ('float32', 'float64'),
}

# Flags that only some settings use (given on the command line for another,
# they are refused rather than ignored).
APPLIES_ONLY = {
    'KNN_K': ('POLICY', ('kNN',)), 'KNN_DELTA': ('POLICY', ('kNN',)),
    **{name: ('MODE', ('train',)) for name in (
        'RESTART', 'SAVE_INTERVAL', 'SAVE_INTERVAL_MINUTES', 'MAX_KEEP_CHECKPOINTS',
        'SAVE_VIS_INTERVAL', 'LEARNING_RATE', 'ADAM_EPS', 'GAMMA', 'NORMALIZE_RETURNS')},
}

# Constants that define the model, task and run; a checkpoint made with other
# values is refused rather than partially restored.
ARCHITECTURE_KEYS = (
    'SEED', 'N_AGENTS', 'N_UNIQUE_EXAMPLE', 'TRIAL_LENGTH', 'T_NOISE_OFF', 'OBS_DIM',
    'DIM_HIDDEN', 'DIM_OUTPUT', 'DICT_LEN', 'KERNEL', 'POLICY', 'KNN_K', 'EVICTION',
    'TWO_BIASES', 'DTYPE',
)


def derive_defaults(values):
  """Checks that depend on more than one setting (at parse time)."""
  if values['T_NOISE_OFF'] >= values['TRIAL_LENGTH']:
    raise ConfigError(f'--t_noise_off={values["T_NOISE_OFF"]} must be less than '
                      f'--trial_length={values["TRIAL_LENGTH"]} (the noise is turned off '
                      'within the trial)')
  if values['POLICY'] == 'kNN' and values['KNN_K'] > values['DICT_LEN']:
    raise ConfigError(f'--knn_k={values["KNN_K"]} must be at most --dict_len={values["DICT_LEN"]} '
                      '(the k nearest neighbours are read from the DND)')
  if values['SEED'] + values['N_AGENTS'] - 1 > 2 ** 32 - 1:
    raise ConfigError(f'--seed={values["SEED"]} with --n_agents={values["N_AGENTS"]} runs seeds '
                      f'up to {values["SEED"] + values["N_AGENTS"] - 1}, beyond 2**32 - 1 '
                      "(numpy's seed range)")


def estimate_memory(values):
  """The main memory consumers of a run, {description: bytes} (model/, train.py;
  within ~2x).

  Per agent: the DND's keys [L, 2 D_obs] and values [L, H] (plus three int64
  counters per slot, and the kNN / similarity scores of one read), the epoch's
  stimuli (float64 from numpy, then float32), the trial's unrolled steps kept
  for backprop (~16 [H] tensors and the [L] similarities per step), and the
  logs of every trial's actions. Parameters count 4 times (weights, gradients,
  Adam's two moments).
  """
  b, L, h = values['N_AGENTS'], values['DICT_LEN'], values['DIM_HIDDEN']
  dx, t, n = 2 * values['OBS_DIM'], values['TRIAL_LENGTH'], 2 * values['N_UNIQUE_EXAMPLE']
  item = 8 if values['DTYPE'] == 'float64' else 4
  agents = f'--n_agents={b}'
  sizes = {
      f'DND: {agents} x --dict_len={L} x (2 x --obs_dim={values["OBS_DIM"]} + --dim_hidden={h}) '
      f'x {item} bytes + 24 bytes of counters, x 2 (the write makes a copy)':
          b * L * ((dx + h) * item + 24) * 2,
      f'similarities of one read: {agents} x --dict_len={L} x --trial_length={t} x 3 x {item} '
      'bytes': b * L * t * 3 * item,
      f'stimuli: {agents} x 2 x --n_unique_example={values["N_UNIQUE_EXAMPLE"]} x '
      f'--trial_length={t} x 2 x --obs_dim={values["OBS_DIM"]} x 12 bytes': b * n * t * dx * 12,
      f'logs: {agents} x --n_epochs={values["N_EPOCHS"]} x {n} trials x (--trial_length={t} + 4) '
      'x 8 bytes': b * values['N_EPOCHS'] * n * (t + 4) * 8,
  }
  params = (dx + h + 2) * 5 * h + (h + 1) * (values['DIM_OUTPUT'] + 1)
  sizes[f'parameters: {agents} x 4 x {params} x {item} bytes (weights, gradients, Adam)'] = (
      b * 4 * params * item)
  return sizes
