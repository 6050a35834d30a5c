#!/usr/bin/python3
"""A live RTSP camera for tests: serves a video file, looping, with GStreamer's rtsp-server.

Run with Debian's interpreter (python3-gi is built for /usr/bin/python3, not the venv):

    /usr/bin/python3 tests/support/rtsp_server.py FILE [--host 127.0.0.1] [--port 0] [--mount /cam]

Prints one line ``READY rtsp://HOST:PORT/MOUNT`` on stdout once it listens
(``--port 0`` picks a free port; the line tells which).

Like a real camera, one producer pipeline plays the file in real time, looping
forever, into an ``intervideosink``; every RTSP client joins that running
stream (shared media) and gets H.264 over RTP. Signals:

    SIGUSR1  freeze: a valve in front of the encoder drops everything, so
             connected clients keep their session but receive no data (what a
             hung camera looks like; clients must detect it by a read timeout)
    SIGUSR2  thaw: frames flow again
    SIGTERM / SIGINT  exit cleanly (SIGKILL is the "camera crashed" case)

apt: python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-{base,good,bad,ugly} gstreamer1.0-libav
"""
import argparse
import pathlib
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstPbutils", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstPbutils, GstRtspServer  # noqa: E402

ENCODER = "x264enc tune=zerolatency speed-preset=ultrafast key-int-max={gop} bframes=0"
PAYLOADER = "rtph264pay name=pay0 pt=96 config-interval=1"


class Camera:
    """The producer pipeline, the RTSP server and the freeze switch."""

    def __init__(self, path: str, channel: str, gop: int) -> None:
        self.frozen = False
        self.medias = []
        width, height, num, den = self._probe(path)
        self.caps = f"video/x-raw,format=I420,width={width},height={height},framerate={num}/{den}"
        location = path.replace('"', '\\"')
        self.producer = Gst.parse_launch(
            f'filesrc location="{location}" ! decodebin ! videoconvert ! videoscale ! videorate '
            f'! {self.caps} ! intervideosink channel={channel} sync=true')
        self.producer.get_bus().add_watch(GLib.PRIORITY_DEFAULT, self._on_producer_message)
        self.launch = (f"( intervideosrc channel={channel} timeout=18446744073709551615 ! {self.caps} "
                       f"! valve name=gate drop=false ! videoconvert ! {ENCODER.format(gop=gop)} ! {PAYLOADER} )")

    @staticmethod
    def _probe(path: str):
        info = GstPbutils.Discoverer.new(10 * Gst.SECOND).discover_uri(pathlib.Path(path).resolve().as_uri())
        video = info.get_video_streams()[0]
        return (video.get_width(), video.get_height(),
                video.get_framerate_num() or 25, video.get_framerate_denom() or 1)

    def _on_producer_message(self, _bus, message) -> bool:
        if message.type == Gst.MessageType.EOS:
            # Loop. The flushing seek resets the producer's timestamps, which does not
            # matter: intervideosrc on the client side runs on its own clock.
            self.producer.seek_simple(Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.KEY_UNIT, 0)
        elif message.type == Gst.MessageType.ERROR:
            error, debug = message.parse_error()
            print(f"producer error: {error.message} {debug}", file=sys.stderr, flush=True)
        return True

    def on_media_configure(self, _factory, media) -> None:
        # A shared media is rebuilt after its last client left: apply the current state.
        self.medias.append(media)
        media.connect("unprepared", lambda m: self.medias.remove(m) if m in self.medias else None)
        self._apply(media)

    def _apply(self, media) -> None:
        gate = media.get_element().get_by_name("gate")
        if gate is not None:
            gate.set_property("drop", self.frozen)

    def set_frozen(self, frozen: bool) -> bool:
        self.frozen = frozen
        for media in list(self.medias):
            self._apply(media)
        print("FROZEN" if frozen else "THAWED", flush=True)
        return True  # keep the signal handler installed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0: any free port (printed in the READY line)")
    ap.add_argument("--mount", default="/cam")
    ap.add_argument("--gop", type=int, default=10, help="keyframe interval in frames (short: fast (re)joins)")
    args = ap.parse_args()
    Gst.init(None)

    camera = Camera(args.file, channel=f"cam{abs(hash((args.mount, args.port)))}", gop=args.gop)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(camera.launch)
    factory.set_shared(True)
    factory.connect("media-configure", camera.on_media_configure)

    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    server.get_mount_points().add_factory(args.mount, factory)
    if server.attach(None) == 0:
        print(f"failed to bind {args.host}:{args.port}", file=sys.stderr, flush=True)
        return 1
    camera.producer.set_state(Gst.State.PLAYING)

    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGUSR1, camera.set_frozen, True)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGUSR2, camera.set_frozen, False)
    print(f"READY rtsp://{args.host}:{server.get_bound_port()}{args.mount}", flush=True)
    loop.run()
    camera.producer.set_state(Gst.State.NULL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
