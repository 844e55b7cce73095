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
  """Checks the chosen CONFIG row and exposes every constant also under its
  lowercase name, the original's params style (the per-env / per-circuit
  defaults of constants left at 0 are filled at parse time, by
  `constants.derive_defaults`).

  Returns:
    (agent_type, env_type, circuit_type); `args` is updated in place.
  """
  agent_type, env_type, _game, circuit_type = args.CONFIGS[args.CONFIG]
  lookup(AgentDict, agent_type, 'agent_type')
  lookup(EnvDict, env_type, 'env_type')
  lookup(CircuitDict, circuit_type, 'circuit_type')
  for name, value in list(vars(args).items()):
    if name.isupper():
      setattr(args, name.lower(), value)
  return agent_type, env_type, circuit_type
