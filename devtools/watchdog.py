"""Runs a command until our parent goes away: the child is killed when stdin reaches EOF
(the parent exited, even by SIGKILL) or after --max-lifetime seconds. For servers, such as
moto_server, that have no such switch of their own.

    python -m devtools.watchdog --max-lifetime 3600 -- moto_server -H 127.0.0.1 -p 5000
"""

import argparse
import subprocess
import sys
import threading


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-lifetime", type=float, default=3600)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    child = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    parent_gone = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), parent_gone.set()), daemon=True).start()
    parent_gone.wait(args.max_lifetime)
    child.kill()
    child.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
