"""The audio grid's tolerance, shared by the stream, the engine and the shells.

Why a module of its own: the engine and the shells need this one number at
boot, long before the first call loads numpy and the codecs with the stream.
"""

# A tick due within this much of ``now`` counts as due: event loops wake on a
# millisecond grid (epoll), so shells arm half of it early and the packet
# leaves within +-0.5 ms of its slot instead of 0..1 ms late.
EARLY_S = 0.001

# A stream whose packets a sound card's own periods send (ALSA on the Pi) still keeps a
# timer this long after each deadline, re-armed by every period: it fires only if the
# device stops delivering periods, and the call's RTP then goes on at its own pace.
DEVICE_FALLBACK_S = 0.03
