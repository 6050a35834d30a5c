import threading

from core.queues import BoundedQueue


def test_live_queue_drops_oldest_and_counts():
    q = BoundedQueue(2, drop_oldest=True)
    for i in range(5):
        q.put(i)
    assert q.dropped == 3
    assert [q.get_nowait(), q.get_nowait(), q.get_nowait()] == [3, 4, None]


def test_file_queue_waits_and_honours_stop():
    q = BoundedQueue(1, drop_oldest=False)
    assert q.put("a")
    stop = threading.Event()
    stop.set()
    assert q.put("b", stop=stop) is False
    assert q.dropped == 0
    got = []
    t = threading.Thread(target=lambda: got.append(q.put("c")))
    t.start()
    assert q.get(timeout=1.0) == "a"
    t.join(timeout=5)
    assert got == [True] and q.get(timeout=1.0) == "c"


def test_final_marker_is_never_dropped():
    q = BoundedQueue(1, drop_oldest=True)
    q.put(1)
    q.put_final("end")
    assert [q.get_nowait(), q.get_nowait()] == [1, "end"]
