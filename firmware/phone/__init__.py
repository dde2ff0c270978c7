"""Call control: lines, calls, dial plan, screens; sans-IO above SIP and media."""
