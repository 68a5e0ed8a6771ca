"""A CASA task's casalog lines stream into its server's pane, coloured by their priority."""
from __future__ import annotations

import pytest
from core.casa.offline import config_preload, make_ms, missing_casa, private_config
from gui_helpers import response, window_on

pytestmark = pytest.mark.skipif(missing_casa() is not None, reason=missing_casa() or "")


@pytest.fixture(scope="module")
def casa_gui_client(tmp_path_factory):
    from core import MPICommandClient
    from core.casa.server_setup import preload_code
    directory = tmp_path_factory.mktemp("casa-gui")
    environment = private_config(directory)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        ms = make_ms(directory / "sim.ms", scans=2)
        with MPICommandClient(servers=1, print_output=False, session_log=False,
                              preload=config_preload(environment) + preload_code(str(directory / "logs"))) as client:
            client.ms = ms
            yield client


def test_a_casa_tasks_log_lines_show_in_the_servers_pane_at_their_level(qtbot, casa_gui_client):
    from core.frontends.host import SessionHost
    host = SessionHost(casa_gui_client)
    window = window_on(qtbot, host)
    window.targets.select(1)
    [command_id] = window.run(f"flagdata(vis={str(casa_gui_client.ms)!r}, mode='summary')\n"
                              "casalog.post('a warning', 'WARN')\ncasalog.post('a severe one', 'SEVERE')")
    assert response(qtbot, window, command_id, timeout=60000)["successful"]
    pane = window.panes[1]
    qtbot.waitUntil(lambda: any(f"#{command_id} done" in line.text for line in pane.output.lines))

    def kinds_of(text: str) -> list[str]:
        return [line.kind for line in pane.output.lines if text in line.text]

    texts = [line.text for line in pane.output.lines]
    done = next(i for i, text in enumerate(texts) if f"#{command_id} done" in text)
    ended = next(i for i, text in enumerate(texts) if "INFO casa: ##### End Task: flagdata" in text)
    assert ended < done  # the task's last lines come before its response
    assert kinds_of("INFO casa: ##### Begin Task: flagdata") == ["INFO"]
    # WARN and SEVERE come once each, by stderr (casalog writes them there too), at their level
    assert kinds_of("\tWARN\t") == ["WARNING"] and kinds_of("a warning") == ["WARNING"]
    assert kinds_of("\tSEVERE\t") == ["ERROR"] and kinds_of("a severe one") == ["ERROR"]
