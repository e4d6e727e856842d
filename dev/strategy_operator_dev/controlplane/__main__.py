import argparse

from strategy_operator_dev.controlplane.command import add_arguments, main

parser = argparse.ArgumentParser(prog="python -m strategy_operator_dev.controlplane", description=__doc__)
add_arguments(parser)
raise SystemExit(main(parser.parse_args()))
