"""``python -m deferredrev.sandbox.intuit [--host H] [--port P] [--redirect-uri URI ...]``: a sandbox for manual runs."""

from __future__ import annotations

import argparse

from deferredrev.sandbox.intuit import SandboxConfig, serve_forever


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deferredrev.sandbox.intuit")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4001)
    parser.add_argument("--redirect-uri", action="append", default=[], help="register a redirect URI (repeatable)")
    args = parser.parse_args(argv)
    config = SandboxConfig(host=args.host, port=args.port, redirect_uris=tuple(args.redirect_uri))
    print(f"Intuit sandbox on http://{args.host}:{args.port} (client id {config.client_id}); Ctrl-C to stop")  # noqa: T201
    try:
        serve_forever(args.host, args.port, config)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
