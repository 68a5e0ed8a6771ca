"""casampi's API on mpipanel's engine, for programs written for CASA's casampi 0.6.

Its modules sit at casampi's paths (`MPIEnvironment`, `MPICommandClient`, `MPIInterface`,
`private.start_mpi`, `private.MPIMonitorClient`, `private.MPICommandServer`), so that under the
`--casa` switch (`core.casampi.switch`) `import casampi.X` is `core.casampi.X` itself: in the
client, every server rank and every worker, and no top-level `casampi` package is installed.

The layer is an adapter: commands travel as ordinary commands of `core.MPICommandClient`, whose
ledger gives casampi's per-server FIFO; the adapter keeps casampi's statuses, response keys and
its `None` returns for rejected requests. A casampi call that mpipanel cannot honour raises
NotImplementedError naming the call and saying why; nothing is silently ignored.

The servers' namespace is casampi's because the switch gives every client a preload
(`core.casampi.switch.set_up_servers`, `core.casa.server_setup`), run in every fresh namespace.
"""
