"""`python -m simulator`: run the provider simulator from the command line.

Every `SimConfig` field has a flag of the same name with dashes (`--error-500-rate 0.1`);
limits left out are unlimited. `sluice simulator` offers the same through the main CLI.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from simulator.config import DEFAULT_TIMEOUT_HANG_S, SimConfig
from simulator.server import DEFAULT_HOST, DEFAULT_PORT, serve

EXIT_USAGE = 2  #: exit code for bad flags or an invalid config, as the sluice CLI uses


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; flag names mirror `SimConfig` fields."""
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Serve a simulated Anthropic and OpenAI API for tests and benchmarks.",
    )
    add = parser.add_argument
    add("--host", default=DEFAULT_HOST, help="interface to listen on")
    add("--port", type=int, default=DEFAULT_PORT, help="port to listen on (0 picks one)")
    add("--seed", type=int, default=0, help="seed of the fault and latency sequences")
    add("--latency-ms", type=float, default=0.0, help="delay before every answer")
    add("--jitter-ms", type=float, default=0.0, help="uniform ± variation of the delay")
    add("--error-500-rate", type=float, default=0.0, help="probability of a 500")
    add(
        "--overloaded-rate",
        type=float,
        default=0.0,
        help="probability of a 529 (Anthropic) / 503 (OpenAI)",
    )
    add(
        "--timeout-rate",
        type=float,
        default=0.0,
        help="probability of holding a request for --timeout-hang-s",
    )
    add(
        "--timeout-hang-s",
        type=float,
        default=DEFAULT_TIMEOUT_HANG_S,
        help="how long a timeout fault holds the request",
    )
    add(
        "--malformed-rate",
        type=float,
        default=0.0,
        help="probability of a 200 with a truncated JSON body",
    )
    add("--rpm", type=int, help="requests per minute per key and API")
    add("--input-tpm", type=int, help="input tokens per minute per key and API")
    add("--output-tpm", type=int, help="output tokens per minute per key and API")
    add("--tpm", type=int, help="input plus output tokens per minute per key and API")
    add("--max-concurrency", type=int, help="requests in flight per key and API")
    add("--log-path", help="append every request record to this file as JSON lines")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse flags and serve until interrupted; return the exit code."""
    args = vars(build_parser().parse_args(argv))
    host, port = args.pop("host"), args.pop("port")
    try:
        config = SimConfig(**{name.replace("-", "_"): value for name, value in args.items()})
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    serve(config, host=host, port=port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
