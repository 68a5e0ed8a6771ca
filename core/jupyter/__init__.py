"""mpipanel in a Jupyter notebook: `%load_ext core.jupyter`, then `%mpipanel start` and `%%px`.

The kernel becomes the client of MPI servers it spawns (`kernel_session`), or one more frontend
of a session that runs elsewhere (`attached_session`); `%px`/`%%px` run code on the servers with
output streamed as it happens, values shown as IPython shows them and failures raised (`magics`,
`cell_run`). IPython is imported only here, and nothing else of `core` imports this package.
`pip install 'mpipanel[jupyter]'` installs what it needs.
"""
from __future__ import annotations


def load_ipython_extension(ipython) -> None:
    from core.jupyter.magics import PxMagics
    ipython.register_magics(PxMagics)


def unload_ipython_extension(ipython) -> None:
    """`%unload_ext` (and `%reload_ext`): autopx ends, the servers this kernel started stop (a
    session it attached to goes on without it); the magics that knew them are gone."""
    from core.jupyter.magics import PxMagics
    magics = ipython.magics_manager.registry.get(PxMagics.__name__)
    if magics is not None:
        magics.close()
