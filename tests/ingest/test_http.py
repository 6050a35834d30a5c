"""http(s) files and HLS playlists, against a real loopback HTTP server (with Range support)."""
import av
import pytest

import ingest
from core.errors import NotAVideo, SourceNotFound, SourceUnreachable
from tests.ingest.helpers import assert_covers
from tests.ingest.http_server import serve_directory

CONFIG = ingest.IngestConfig(window_seconds=4.0, frames_per_window=4, open_timeout_s=2.0, read_timeout_s=2.0,
                             max_open_attempts=2, backoff_initial_s=0.01, backoff_max_s=0.02)


@pytest.fixture(scope="module")
def web(clip_dir, tmp_path_factory):
    """Serves clip_dir plus an HLS rendition (VOD playlist, 2 s segments) of long.mkv."""
    hls = clip_dir / "hls"
    if not hls.exists():
        hls.mkdir()
        with av.open(str(clip_dir / "long.mkv")) as src, \
                av.open(str(hls / "index.m3u8"), "w", format="hls",
                        options={"hls_time": "2", "hls_list_size": "0", "hls_playlist_type": "vod"}) as out:
            video = out.add_stream_from_template(src.streams.video[0])
            for packet in src.demux(src.streams.video[0]):
                if packet.dts is not None:
                    packet.stream = video
                    out.mux(packet)
        # the same segments without #EXT-X-ENDLIST: a live playlist (that never grows)
        live = hls / "live.m3u8"
        live.write_text("".join(line for line in (hls / "index.m3u8").read_text().splitlines(keepends=True)
                                if "ENDLIST" not in line and "PLAYLIST-TYPE" not in line))
    (clip_dir / "readme.txt").write_text("not a video\n" * 40)
    with serve_directory(clip_dir) as base:
        yield base


@pytest.mark.parametrize("name,duration", [("long.mkv", 12.0), ("moving.mp4", 5.0)])
def test_http_file(web, name, duration):
    url = f"{web}/{name}"
    info = ingest.probe(url, CONFIG)
    assert (info.kind, info.live, info.duration) == ("http", False, duration)
    windows = list(ingest.iter_windows(url, "web", CONFIG))
    assert_covers(windows, duration, 4.0)
    assert all(w.source == url for w in windows)


def test_hls_vod_playlist(web):
    url = f"{web}/hls/index.m3u8"
    info = ingest.probe(url, CONFIG)
    assert (info.kind, info.live, info.codec) == ("hls", False, "h264")
    windows = list(ingest.iter_windows(url, "hls", CONFIG))
    # HLS (MPEG-TS) timestamps start at 1.4 s; windows count from the stream start
    assert_covers(windows, 12.0, 4.0)
    assert [f.pts for f in windows[0].frames] == pytest.approx([0.5, 1.5, 2.5, 3.5])


def test_http_not_found(web):
    with pytest.raises(SourceNotFound, match=r"/nope\.mp4: not found \(404\)"):
        list(ingest.iter_windows(f"{web}/nope.mp4", "s", CONFIG))
    with pytest.raises(SourceNotFound):
        ingest.probe(f"{web}/hls/missing.m3u8", CONFIG)


def test_http_text_is_not_a_video(web):
    with pytest.raises(NotAVideo, match="readme.txt is not a video file"):
        list(ingest.iter_windows(f"{web}/readme.txt", "s", CONFIG))


def test_http_refused_fails_after_the_attempts():
    from tests.support.rtsp import free_port

    url = f"http://127.0.0.1:{free_port()}/clip.mp4"
    events = []
    with pytest.raises(SourceUnreachable, match="connection refused"):
        list(ingest.iter_windows(url, "s", CONFIG, on_event=events.append))
    assert [e.attempt for e in events if e.state.value == "connecting"] == [1, 2]


def test_hls_live_playlist_is_live_and_reconnected(web):
    url = f"{web}/hls/live.m3u8"
    assert ingest.probe(url, CONFIG).live is True
    events = []
    config = ingest.IngestConfig(window_seconds=2.0, frames_per_window=4, max_seconds=6.0, open_timeout_s=2.0,
                                 read_timeout_s=2.0, backoff_initial_s=0.05, backoff_max_s=0.1)
    windows = list(ingest.iter_windows(url, "hls-live", config, on_event=events.append))
    states = [e.state.value for e in events]
    # the playlist never grows: the player reaches its end, which for a live source means reconnect
    assert states[:2] == ["connecting", "live"] and "reconnecting" in states and states[-1] == "ended"
    assert windows[0].origin_unix > 1e9
    # the live edge arrives in one burst; frames are still spread by their pts, not piled on one instant
    assert [(w.start, w.end) for w in windows] == [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0)]
    assert all(len(w.frames) == 4 for w in windows)
    pts = [f.pts for w in windows for f in w.frames]
    assert pts == sorted(pts) and pts[-1] < 6.0
