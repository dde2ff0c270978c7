"""Sans-IO media: SDP offer/answer, RTP/RTCP, G.711, DTMF, jitter buffer."""
