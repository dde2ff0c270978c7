"""Tooling for the demo and the tests: never imported by the product.

``runner`` plays the Appendix B figures on simulated handsets, ``figures``
holds the users' actions and the seed's step tables, ``network`` starts
handsets on loopback, ``ladder`` draws the messages sent, ``driver`` runs a
bare SIP endpoint on a socket for tests and benches.
"""
