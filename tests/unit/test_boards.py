"""The boards beside the doorbells (`core.wire.boards`): a sender rings only a receiver that said
it sleeps, and the receiver knows from the counts what is in flight, rung or not."""
from __future__ import annotations

import socket

import pytest

from core.wire.boards import Board, BoardAddress, PeerBoard, board_for
from core.wire.transport import Peer

pytestmark = pytest.mark.skipif(not Board.available(), reason="boards need memfd and an x86 CPU")


def test_a_peer_rings_only_while_the_receiver_says_it_sleeps():
    board = Board()
    peer_side = board_for(board.address(), board.take_slot())
    assert peer_side.count(1) is False
    board.fall_asleep()
    assert peer_side.count(2) is True
    board.wake_up()
    assert (peer_side.count(3), board.sent(0)) == (False, 3)
    board.close()
    assert peer_side.count(4) is False  # the peer's mapping outlives the owner's


def test_each_peer_process_gets_a_slot_of_its_own_until_there_are_none():
    board = Board(slots=2)
    first, second = board.take_slot(), board.take_slot()
    board_for(board.address(), first).count(5)
    board_for(board.address(), second).count(7)
    assert (board.sent(first), board.sent(second), board.take_slot()) == (5, 7, None)


def test_a_board_that_is_not_the_one_announced_is_not_used():
    board = Board()
    address = board.address()
    assert board_for(address._replace(nonce=bytes(16)), 0) is None
    assert board_for(address._replace(host=address.host + "-elsewhere"), 0) is None
    assert board_for(None, 0) is None
    with pytest.raises(OSError):
        PeerBoard(BoardAddress(address.host, address.pid, 10_000, address.nonce), 0)


def test_what_is_owed_counts_rung_envelopes_and_those_counted_on_the_board_alike():
    ours, theirs = socket.socketpair()
    try:
        board = Board()
        peer = Peer(None, 1, ours)
        peer.inbox, peer.inbox_slot = board, board.take_slot()
        theirs.sendall(b"\x01\x01")  # two envelopes rung before the peer mapped the board
        peer.read_rings()
        assert (peer.owed, peer.rings_always) == (2, True)
        board_for(board.address(), peer.inbox_slot).count(5)  # its first count is its total
        peer.received = 4
        assert (peer.owed, peer.rings_always) == (1, False)
    finally:
        ours.close()
        theirs.close()
