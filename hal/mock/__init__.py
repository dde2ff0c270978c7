"""Mock backends on a virtual clock: the whole firmware runs headless."""
