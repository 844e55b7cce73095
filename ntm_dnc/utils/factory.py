"""Registries from config names to classes (pytorch-dnc `utils/factory.py`)."""
from ntm_dnc.core.agent import EmptyAgent, SLAgent
from ntm_dnc.core.circuit import DNCCircuit, NTMCircuit
from ntm_dnc.core.env import CopyEnv, RepeatCopyEnv

EnvDict = {'copy': CopyEnv, 'repeat-copy': RepeatCopyEnv}
CircuitDict = {'none': None, 'ntm': NTMCircuit, 'dnc': DNCCircuit}
AgentDict = {'empty': EmptyAgent, 'sl': SLAgent}


class ConfigValueError(ValueError):
  """Constants that are valid one by one but not together."""


def lookup(registry, name, what):
  if name not in registry:
    raise ConfigValueError(f'unknown {what} {name!r}; choose one of: {", ".join(sorted(registry))}')
  return registry[name]


def resolve(args):
  """Fill the per-env / per-circuit defaults (constants left at 0) and expose
  every constant also under its lowercase name, the original's params style.

  Returns:
    (agent_type, env_type, circuit_type); `args` is updated in place.
  """
  agent_type, env_type, _game, circuit_type = args.CONFIGS[args.CONFIG]
  lookup(AgentDict, agent_type, 'agent_type')
  lookup(EnvDict, env_type, 'env_type')
  lookup(CircuitDict, circuit_type, 'circuit_type')
  defaults = dict(args.ENV_DEFAULTS[env_type])
  defaults.update(args.CIRCUIT_DEFAULTS.get(circuit_type, {}))
  for name, value in defaults.items():
    if getattr(args, name) == 0:
      setattr(args, name, value)
  if args.MIN_NUM_WORDS > args.MAX_NUM_WORDS:
    raise ConfigValueError(f'--min_num_words={args.MIN_NUM_WORDS} is larger than '
                     f'--max_num_words={args.MAX_NUM_WORDS}')
  if args.MIN_REPEATS > args.MAX_REPEATS:
    raise ConfigValueError(f'--min_repeats={args.MIN_REPEATS} is larger than '
                     f'--max_repeats={args.MAX_REPEATS}')
  for name, value in list(vars(args).items()):
    if name.isupper():
      setattr(args, name.lower(), value)
  return agent_type, env_type, circuit_type
