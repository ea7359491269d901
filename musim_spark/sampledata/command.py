"""Placeholder until the stage lands (replaced by its implementation)."""
from ..errors import StageNotBuiltError


def add_arguments(parser):
    pass


def run(args, config):
    raise StageNotBuiltError("not built yet")
