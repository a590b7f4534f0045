"""The codec's commands: a new key, and a backup of the keys in use. Apart from the codec
itself, which the settings read to check keys: the commands read the settings, so neither
imports the other."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from codec import backup, new_key, new_key_id
from settings import Settings, with_local_secrets

USAGE = """\
    python -m codec new-key            # a fresh key, to add to ALLIANCE_CODEC_KEYS
    python -m codec backup FILE        # the keys in use (settings or local run) into FILE"""


def main(argv: list[str]) -> int:
    if argv[:1] == ["new-key"]:
        print(json.dumps({new_key_id(): new_key()}))
        return 0
    if argv[:1] == ["backup"] and len(argv) == 2:
        settings = Settings()
        if not settings.codec_keys:
            settings = with_local_secrets(settings)
        backup(settings.plain_codec_keys(), Path(argv[1]))
        print(f"{len(settings.codec_keys)} key(s) written to {argv[1]}; keep it offline.")
        return 0
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
