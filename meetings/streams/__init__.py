"""Live streams of rooms: stream keys held by the portal, the media server's callbacks, HLS viewing
rights, the viewer page and its watching count (issue 17; CONTRACTS.md section 7)."""
