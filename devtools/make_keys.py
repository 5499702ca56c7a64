"""Write a new identity key pair: ``python -m devtools.make_keys <dir>`` (deployments; rotation)."""

import sys
from pathlib import Path

from kit.identity import generate_keypair


def main() -> int:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "deploy/secrets")
    generate_keypair(target / "identity_ed25519.pem", target / "identity_ed25519.pub.pem")
    print(f"wrote {target}/identity_ed25519.pem (private, keep secret) and identity_ed25519.pub.pem")
    return 0


if __name__ == "__main__":
    sys.exit(main())
