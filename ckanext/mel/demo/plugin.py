"""The demo's plugin, `mel_demo`: the `ckan mel-demo …` commands that load the demo of `make run`.

The demo's configuration (scripts/write-ini.sh) loads it after `mel`; a production portal does
not, so its command line has no command that creates accounts from a password typed on it.
"""

from __future__ import annotations

import ckan.plugins as p
import ckan.plugins.toolkit as tk


@tk.blanket.cli
class MelDemoPlugin(p.SingletonPlugin):
    pass
